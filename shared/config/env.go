// Package config reads service configuration from the environment. Each
// service declares one Config struct and fills it once in main through an
// Env, which collects every malformed value into one error.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lookup finds an environment variable; os.LookupEnv is one.
type Lookup func(name string) (string, bool)

// Env reads typed values from a Lookup and remembers every parse error.
type Env struct {
	lookup Lookup
	errs   []error
}

// NewEnv returns an Env reading from lookup.
func NewEnv(lookup Lookup) *Env {
	return &Env{lookup: lookup}
}

func (e *Env) raw(name string) (string, bool) {
	v, ok := e.lookup(name)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// String returns the variable's value, or def when it is unset or empty.
func (e *Env) String(name, def string) string {
	if v, ok := e.raw(name); ok {
		return v
	}
	return def
}

// Secret returns the variable's value as a Secret, or def when it is unset.
func (e *Env) Secret(name string, def Secret) Secret {
	if v, ok := e.raw(name); ok {
		return Secret(v)
	}
	return def
}

// Int returns the variable parsed as an integer, or def.
func (e *Env) Int(name string, def int) int {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an integer", name, v))
		return def
	}
	return n
}

// Bool returns the variable parsed by strconv.ParseBool, or def.
func (e *Env) Bool(name string, def bool) bool {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a boolean (true or false)", name, v))
		return def
	}
	return b
}

// Duration returns the variable parsed by time.ParseDuration, or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a duration such as 30s or 72h", name, v))
		return def
	}
	return d
}

// List returns the variable split on commas with blanks removed, or def.
func (e *Env) List(name string, def []string) []string {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Fail records a validation error found by the caller.
func (e *Env) Fail(err error) {
	e.errs = append(e.errs, err)
}

// Err returns every error met so far, joined, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("reading configuration: %w", errors.Join(e.errs...))
}
