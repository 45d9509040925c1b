package routes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/goccy/go-yaml/ast"
)

// Type is one type of destination. It is registered in Options.Types
// under its key in the routes file: a destination holding that key
// (webhook: URL, http: URL ...) is of that type, and the type alone reads
// and checks the destination's fields.
type Type interface {
	// Keys lists the keys the type reads besides its own (token, secret).
	Keys() []string
	// Threads reports whether routes may thread into destinations of
	// this type (thread: true).
	Threads() bool
	// Parse builds a destination's endpoint from its fields, reporting
	// every problem through f.
	Parse(f *Fields) any
}

// Types maps each destination type's key to the type.
type Types map[string]Type

// keys returns the type keys in sorted order.
func (ts Types) keys() []string {
	out := make([]string, 0, len(ts))
	for k := range ts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// owners returns the types that read key, in sorted order.
func (ts Types) owners(key string) []string {
	var out []string
	for _, k := range ts.keys() {
		if contains(ts[k].Keys(), key) {
			out = append(out, k)
		}
	}
	return out
}

// threading returns the keys of the types that thread.
func (ts Types) threading() []string {
	var out []string
	for _, k := range ts.keys() {
		if ts[k].Threads() {
			out = append(out, k)
		}
	}
	return out
}

// Fields are one destination's fields as its type reads them. Problems
// are reported with the file, line and column of the field.
type Fields struct {
	l       *loader
	name    string
	what    string
	nameAt  ast.Node
	vals    map[string]ast.Node
	noLimit bool
}

// Name is the destination's name.
func (f *Fields) Name() string { return f.name }

// Has reports whether the destination sets key.
func (f *Fields) Has(key string) bool { return f.vals[key] != nil }

// Raw returns key's string as written, before ${NAME} is replaced.
func (f *Fields) Raw(key string) string {
	n := f.vals[key]
	if n == nil {
		return ""
	}
	s, _ := f.l.str(n, f.what+": "+key)
	return s
}

// String returns key's string with every ${NAME} replaced by its
// variable; "" when key is absent or not a string (reported).
func (f *Fields) String(key string) string {
	n := f.vals[key]
	if n == nil {
		return ""
	}
	s, ok := f.l.str(n, f.what+": "+key)
	if !ok {
		return ""
	}
	return f.l.interpolate(n, f.what+": "+key, s)
}

// Secret is String as a secret, which never shows in logs.
func (f *Fields) Secret(key string) config.Secret { return config.Secret(f.String(key)) }

// Bool returns key's boolean; false when absent or not a boolean (reported).
func (f *Fields) Bool(key string) bool {
	n := f.vals[key]
	if n == nil {
		return false
	}
	return f.l.boolean(n, f.what+": "+key)
}

// Errorf reports a problem at key's value, or at the destination's name
// when key is "" or absent.
func (f *Fields) Errorf(key, format string, args ...any) {
	f.l.errorf(f.at(key), "%s: %s", f.what, fmt.Sprintf(format, args...))
}

// Warnf is Errorf for a problem a lenient load lets through: a warning
// when lenient, an error otherwise.
func (f *Fields) Warnf(key, format string, args ...any) {
	if f.l.opts.Lenient {
		f.l.warnf(f.at(key), "%s: %s", f.what, fmt.Sprintf(format, args...))
		return
	}
	f.Errorf(key, format, args...)
}

// Lenient reports whether the load lets unset variables and missing
// secrets through as warnings (ghnotify routes check).
func (f *Fields) Lenient() bool { return f.l.opts.Lenient }

// Unlimited gives the destination no rate limit unless it sets one.
func (f *Fields) Unlimited() { f.noLimit = true }

func (f *Fields) at(key string) ast.Node {
	if n := f.vals[key]; key != "" && n != nil {
		return n
	}
	return f.nameAt
}

// typeList names the types for messages: "a, b or c".
func typeList(keys []string, conj string) string {
	switch len(keys) {
	case 0:
		return "(no destination types are known)"
	case 1:
		return keys[0]
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " " + conj + " " + keys[len(keys)-1]
}
