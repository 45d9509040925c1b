package routes

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Options controls loading.
type Options struct {
	// Lookup resolves ${NAME} in destination fields. The caller passes the
	// environment (os.LookupEnv in main); nil resolves no variable, so every
	// ${NAME} is reported as unset.
	Lookup config.Lookup
	// Types are the destination types a file may use, by key.
	Types Types
	// Rate and Burst are the rate limit of destinations that set none;
	// zero means DefaultRate and DefaultBurst.
	Rate  float64
	Burst int
	// Lenient turns unset environment variables and missing tokens into
	// warnings, for checking a file where its secrets are not set.
	Lenient bool
}

// Problem is one error in a routes file, with its position.
type Problem struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// LoadError lists every problem found in a routes file.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid routes file:\n" + strings.Join(lines, "\n")
}

// Load reads and validates the routes file at file.
func Load(file string, opts Options) (*Table, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading routes file: %w", err)
	}
	return Parse(file, data, opts)
}

// Parse validates a routes file's contents; file names it in errors.
func Parse(file string, data []byte, opts Options) (*Table, error) {
	if opts.Lookup == nil {
		opts.Lookup = noVariables
	}
	l := &loader{file: file, opts: opts}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		l.syntax(err)
		return nil, &LoadError{Problems: l.problems}
	}
	t := &Table{File: file, Destinations: map[string]*Destination{}}
	var body ast.Node
	if len(f.Docs) > 1 {
		l.errorf(f.Docs[1].Body, "a routes file holds one YAML document")
	}
	if len(f.Docs) > 0 {
		body = f.Docs[0].Body
	}
	if body == nil {
		l.problems = append(l.problems, Problem{File: file, Line: 1, Col: 1, Msg: "the routes file is empty"})
		return nil, &LoadError{Problems: l.problems}
	}
	l.table(body, t)
	t.Warnings = l.warnings
	if len(l.problems) > 0 {
		return nil, &LoadError{Problems: sortedProblems(l.problems)}
	}
	return t, nil
}

type loader struct {
	file     string
	opts     Options
	problems []Problem
	warnings []string
}

func pos(n ast.Node) (int, int) {
	if n == nil {
		return 1, 1
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 1, 1
	}
	return tk.Position.Line, tk.Position.Column
}

func (l *loader) errorf(n ast.Node, format string, args ...any) {
	line, col := pos(n)
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(n ast.Node, format string, args ...any) {
	line, col := pos(n)
	l.warnings = append(l.warnings, Problem{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}.String())
}

func (l *loader) syntax(err error) {
	var pe interface {
		GetToken() *token.Token
		GetMessage() string
	}
	p := Problem{File: l.file, Line: 1, Col: 1, Msg: err.Error()}
	if errors.As(err, &pe) {
		p.Msg = pe.GetMessage()
		if tk := pe.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	l.problems = append(l.problems, p)
}

// entry is one key of a mapping.
type entry struct {
	key     string
	keyNode ast.Node
	val     ast.Node
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// mapping returns the entries of a mapping, reporting unknown and
// duplicate keys. known lists the allowed keys.
func (l *loader) mapping(n ast.Node, what string, known ...string) []entry {
	n = unwrap(n)
	var vals []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		vals = m.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{m}
	default:
		l.errorf(n, "%s must be a mapping of keys to values", what)
		return nil
	}
	seen := map[string]bool{}
	var out []entry
	for _, mv := range vals {
		key := ""
		if tk := mv.Key.GetToken(); tk != nil {
			key = tk.Value
		}
		if !contains(known, key) {
			l.errorf(mv.Key, "%s: unknown key %q (known keys: %s)", what, key, strings.Join(known, ", "))
			continue
		}
		if seen[key] {
			l.errorf(mv.Key, "%s: key %q appears twice", what, key)
			continue
		}
		seen[key] = true
		out = append(out, entry{key: key, keyNode: mv.Key, val: mv.Value})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (l *loader) str(n ast.Node, what string) (string, bool) {
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode:
		return v.GetToken().Value, true
	}
	l.errorf(n, "%s must be a string", what)
	return "", false
}

// strList accepts one string or a list of strings.
func (l *loader) strList(n ast.Node, what string) []string {
	if seq, ok := unwrap(n).(*ast.SequenceNode); ok {
		var out []string
		for _, item := range seq.Values {
			if s, ok := l.str(item, what+" item"); ok {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			l.errorf(n, "%s must not be empty", what)
		}
		return out
	}
	if s, ok := l.str(n, what+" (a string or a list of strings)"); ok {
		return []string{s}
	}
	return nil
}

func (l *loader) boolean(n ast.Node, what string) bool {
	if b, ok := unwrap(n).(*ast.BoolNode); ok {
		return b.Value
	}
	l.errorf(n, "%s must be true or false", what)
	return false
}

func (l *loader) number(n ast.Node, what string) float64 {
	switch v := unwrap(n).(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		f, err := strconv.ParseFloat(v.GetToken().Value, 64)
		if err == nil && f > 0 {
			return f
		}
	}
	l.errorf(n, "%s must be a positive number", what)
	return 0
}

func (l *loader) table(n ast.Node, t *Table) {
	var routesNode, defaultNode ast.Node
	for _, e := range l.mapping(n, "routes file", "destinations", "routes", "default", "people") {
		switch e.key {
		case "people":
			t.People = l.peopleKey(e.val)
		case "destinations":
			for _, d := range l.mapping(e.val, "destinations", anyKey(e.val)...) {
				if dest := l.destination(d); dest != nil {
					t.Destinations[d.key] = dest
				}
			}
		case "routes":
			routesNode = e.val
		case "default":
			defaultNode = e.val
			t.Default, _ = l.str(e.val, "default")
		}
	}
	if t.Default != "" && t.Destinations[t.Default] == nil {
		l.errorf(defaultNode, "default: destination %q is not defined (defined: %s)", t.Default, strings.Join(t.DestinationNames(), ", "))
	}
	if routesNode == nil {
		if t.Default == "" {
			l.errorf(n, "the routes file needs routes or a default destination")
		}
		return
	}
	seq, ok := unwrap(routesNode).(*ast.SequenceNode)
	if !ok {
		if _, null := unwrap(routesNode).(*ast.NullNode); !null {
			l.errorf(routesNode, "routes must be a list")
		}
		return
	}
	names := map[string]int{}
	for _, item := range seq.Values {
		r := l.route(item, t)
		if r == nil {
			continue
		}
		if prev, dup := names[r.Name]; dup {
			l.errorf(item, "route %q is already defined on line %d", r.Name, prev)
			continue
		}
		names[r.Name] = r.Line
		t.Routes = append(t.Routes, r)
	}
}

// anyKey returns the keys of a mapping so that mapping accepts them all.
func anyKey(n ast.Node) []string {
	var keys []string
	switch m := unwrap(n).(type) {
	case *ast.MappingNode:
		for _, mv := range m.Values {
			keys = append(keys, mv.Key.GetToken().Value)
		}
	case *ast.MappingValueNode:
		keys = append(keys, m.Key.GetToken().Value)
	}
	return keys
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func (l *loader) destination(e entry) *Destination {
	what := fmt.Sprintf("destination %q", e.key)
	if !nameRE.MatchString(e.key) {
		l.errorf(e.keyNode, "%s: a destination name may hold letters, digits, '_', '-' and '.'", what)
	}
	line, _ := pos(e.keyNode)
	d := &Destination{Name: e.key, Rate: DefaultRate, Burst: DefaultBurst, Line: line}
	if l.opts.Rate > 0 {
		d.Rate = l.opts.Rate
	}
	if l.opts.Burst > 0 {
		d.Burst = l.opts.Burst
	}
	types := l.opts.Types
	known := types.keys()
	for _, k := range known {
		for _, extra := range types[k].Keys() {
			if !contains(known, extra) {
				known = append(known, extra)
			}
		}
	}
	known = append(known, "rate", "burst", "match", "quiet")
	entries := l.mapping(e.val, what, known...)
	f := &Fields{l: l, name: e.key, what: what, nameAt: e.keyNode, vals: map[string]ast.Node{}}
	var present []string
	for _, fe := range entries {
		f.vals[fe.key] = fe.val
		if types[fe.key] != nil {
			present = append(present, fe.key)
		}
	}
	switch {
	case len(present) == 0:
		l.errorf(e.keyNode, "%s needs one of %s", what, typeList(types.keys(), "or"))
	case len(present) > 1:
		l.errorf(e.keyNode, "%s names more than one of %s", what, typeList(present, "and"))
	default:
		d.Type = present[0]
		typ := types[d.Type]
		for _, fe := range entries {
			if types[fe.key] == nil && !contains(typ.Keys(), fe.key) && !contains([]string{"rate", "burst", "match", "quiet"}, fe.key) {
				l.errorf(fe.val, "%s: %s applies to %s destinations only", what, fe.key, typeList(types.owners(fe.key), "and"))
			}
		}
		d.Endpoint = typ.Parse(f)
		if f.noLimit {
			d.Rate, d.Burst = 0, 0
		}
	}
	for _, fe := range entries {
		switch fe.key {
		case "rate":
			d.Rate = l.number(fe.val, what+": rate")
		case "burst":
			d.Burst = int(l.number(fe.val, what+": burst"))
		case "match":
			d.Filter = l.cond(fe.val, what+": match")
		case "quiet":
			d.Quiet = l.quiet(fe.val, what)
		}
	}
	return d
}

// noVariables is the Lookup of a load given none: no variable is set.
func noVariables(string) (string, bool) { return "", false }

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// interpolate replaces ${NAME} with the variable's value. An unset
// variable is an error (a warning when lenient). Values are never echoed.
func (l *loader) interpolate(n ast.Node, what, s string) string {
	return envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := envRE.FindStringSubmatch(m)[1]
		v, ok := l.opts.Lookup(name)
		if !ok || v == "" {
			if l.opts.Lenient {
				l.warnf(n, "%s: environment variable %s is not set", what, name)
			} else {
				l.errorf(n, "%s: environment variable %s is not set", what, name)
			}
		}
		return v
	})
}

var routeKeys = []string{"name", "match", "to", "drop", "continue", "thread", "broadcast_final", "urgent", "digest", "mention"}

func (l *loader) route(n ast.Node, t *Table) *Route {
	line, _ := pos(n)
	r := &Route{Line: line}
	entries := l.mapping(n, "route", routeKeys...)
	for _, e := range entries {
		if e.key == "name" {
			r.Name, _ = l.str(e.val, "route name")
		}
	}
	what := fmt.Sprintf("route %q", r.Name)
	if r.Name == "" {
		what = fmt.Sprintf("route on line %d", line)
		l.errorf(n, "%s needs a name", what)
	}
	var toNode, threadNode, broadcastNode, urgentNode ast.Node
	for _, e := range entries {
		switch e.key {
		case "match":
			r.Cond = l.cond(e.val, what+": match")
		case "to":
			toNode = e.val
			r.To = l.strList(e.val, what+": to")
		case "drop":
			r.Drop = l.boolean(e.val, what+": drop")
		case "continue":
			r.Continue = l.boolean(e.val, what+": continue")
		case "thread":
			threadNode = e.val
			r.Thread = l.boolean(e.val, what+": thread")
		case "mention":
			r.Mention = l.mentions(e.val, what+": mention", t.People)
		case "broadcast_final":
			r.BroadcastFinal = l.boolean(e.val, what+": broadcast_final")
			if r.BroadcastFinal {
				broadcastNode = e.keyNode
			}
		case "urgent":
			urgentNode = e.keyNode
			r.Urgent = l.urgent(e.val, what)
		case "digest":
			if urgentNode == nil {
				urgentNode = e.keyNode
			}
			r.Digest = l.digest(e.val, what)
		}
	}
	l.checkSchedule(r, t, urgentNode, what)
	if broadcastNode != nil && !r.Thread {
		l.errorf(broadcastNode, "%s: broadcast_final needs thread: true", what)
	}
	switch {
	case r.Drop && len(r.To) > 0:
		l.errorf(toNode, "%s: a drop route sends nowhere; remove to or drop", what)
	case !r.Drop && len(r.To) == 0 && toNode == nil:
		l.errorf(n, "%s needs to: (destinations) or drop: true", what)
	}
	for _, name := range r.To {
		d := t.Destinations[name]
		if d == nil {
			l.errorf(toNode, "%s: destination %q is not defined (defined: %s)", what, name, strings.Join(t.DestinationNames(), ", "))
			continue
		}
		if typ := l.opts.Types[d.Type]; r.Thread && typ != nil && !typ.Threads() {
			l.errorf(threadNode, "%s: thread: true needs %s destinations, and %q is a %s", what, typeList(l.opts.Types.threading(), "or"), name, d.Type)
		}
	}
	return r
}

var condKeys = []string{"kind", "repo", "owner", "base", "head", "branch", "labels", "actor", "bot", "draft", "merged", "paths", "expr", "all", "any", "not"}

// cond parses a condition mapping: every key must hold.
func (l *loader) cond(n ast.Node, what string) Cond {
	if _, null := unwrap(n).(*ast.NullNode); null {
		return always{}
	}
	var all allCond
	for _, e := range l.mapping(n, what, condKeys...) {
		w := what + ": " + e.key
		switch e.key {
		case "kind":
			all = append(all, globCond{"kind", func(f *Facts) string { return f.Kind }, l.globs(e.val, w, true)})
		case "repo":
			all = append(all, globCond{"repo", func(f *Facts) string { return f.Repo }, l.globs(e.val, w, true)})
		case "owner":
			all = append(all, globCond{"owner", func(f *Facts) string { return f.Owner }, l.globs(e.val, w, true)})
		case "base":
			all = append(all, globCond{"base", func(f *Facts) string { return f.Base }, l.globs(e.val, w, false)})
		case "head":
			all = append(all, globCond{"head", func(f *Facts) string { return f.Head }, l.globs(e.val, w, false)})
		case "branch":
			all = append(all, globCond{"branch", func(f *Facts) string { return f.Branch }, l.globs(e.val, w, false)})
		case "actor":
			all = append(all, globCond{"actor", func(f *Facts) string { return f.Actor }, l.globs(e.val, w, true)})
		case "labels":
			all = append(all, l.labels(e.val, w))
		case "bot":
			all = append(all, boolCond{"bot", func(f *Facts) *bool { return &f.Bot }, l.boolean(e.val, w)})
		case "draft":
			all = append(all, boolCond{"draft", func(f *Facts) *bool { return f.Draft }, l.boolean(e.val, w)})
		case "merged":
			all = append(all, boolCond{"merged", func(f *Facts) *bool { return f.Merged }, l.boolean(e.val, w)})
		case "paths":
			all = append(all, pathsCond{l.strList(e.val, w)})
		case "expr":
			if src, ok := l.str(e.val, w); ok {
				c, err := compileExpr(src)
				if err != nil {
					l.errorf(e.val, "%s: %s", w, strings.ReplaceAll(err.Error(), "\n", " "))
					continue
				}
				all = append(all, c)
			}
		case "all", "any":
			seq, ok := unwrap(e.val).(*ast.SequenceNode)
			if !ok || len(seq.Values) == 0 {
				l.errorf(e.val, "%s must be a non-empty list of conditions", w)
				continue
			}
			var subs []Cond
			for i, item := range seq.Values {
				subs = append(subs, l.cond(item, fmt.Sprintf("%s[%d]", w, i)))
			}
			if e.key == "all" {
				all = append(all, allCond(subs))
			} else {
				all = append(all, anyCond(subs))
			}
		case "not":
			all = append(all, notCond{l.cond(e.val, w)})
		}
	}
	if len(all) == 1 {
		return all[0]
	}
	return all
}

func (l *loader) globs(n ast.Node, what string, fold bool) globs {
	var out globs
	for _, p := range l.strList(n, what) {
		if fold {
			p = strings.ToLower(p)
		}
		if _, err := path.Match(p, ""); err != nil {
			l.errorf(n, "%s: bad glob %q: %v", what, p, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (l *loader) labels(n ast.Node, what string) Cond {
	var c labelsCond
	if _, isMap := unwrap(n).(*ast.MappingNode); !isMap {
		if _, isMV := unwrap(n).(*ast.MappingValueNode); !isMV {
			// A plain list means "any of".
			c.any = l.globs(n, what, true)
			return c
		}
	}
	for _, e := range l.mapping(n, what, "any", "all", "none") {
		g := l.globs(e.val, what+"."+e.key, true)
		switch e.key {
		case "any":
			c.any = g
		case "all":
			c.all = g
		case "none":
			c.none = g
		}
	}
	return c
}

// sortedProblems orders problems by position.
func sortedProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	return ps
}
