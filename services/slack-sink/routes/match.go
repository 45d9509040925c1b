package routes

import (
	"fmt"
	"path"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Cond is one condition of a route or destination. Eval reports whether
// the event's facts satisfy it and, when they do not, why.
type Cond interface {
	Eval(f *Facts) (ok bool, why string)
}

// globs is a list of path.Match patterns compared case-insensitively.
type globs []string

func (g globs) match(s string) bool {
	for _, p := range g {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func (g globs) String() string { return strings.Join(g, ", ") }

// globCond matches one string fact against globs.
type globCond struct {
	name string
	get  func(f *Facts) string
	pats globs
}

func (c globCond) Eval(f *Facts) (bool, string) {
	v := c.get(f)
	if v == "" {
		return false, fmt.Sprintf("%s: the event has no %s", c.name, c.name)
	}
	if c.pats.match(v) {
		return true, ""
	}
	return false, fmt.Sprintf("%s: %q matches none of [%s]", c.name, v, c.pats)
}

// labelsCond matches the target's labels: any of, all of, none of.
type labelsCond struct {
	any, all, none globs
}

func (c labelsCond) Eval(f *Facts) (bool, string) {
	has := func(p string) bool { return globs{p}.matchAny(f.Labels) }
	if len(c.any) > 0 && !c.any.matchAny(f.Labels) {
		return false, fmt.Sprintf("labels.any: labels %s include none of [%s]", show(f.Labels), c.any)
	}
	for _, p := range c.all {
		if !has(p) {
			return false, fmt.Sprintf("labels.all: labels %s lack %q", show(f.Labels), p)
		}
	}
	for _, p := range c.none {
		if has(p) {
			return false, fmt.Sprintf("labels.none: labels %s include %q", show(f.Labels), p)
		}
	}
	return true, ""
}

func (g globs) matchAny(vs []string) bool {
	for _, v := range vs {
		if g.match(v) {
			return true
		}
	}
	return false
}

func show(vs []string) string {
	if len(vs) == 0 {
		return "[]"
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

// boolCond matches a flag of the event.
type boolCond struct {
	name string
	get  func(f *Facts) *bool
	want bool
}

func (c boolCond) Eval(f *Facts) (bool, string) {
	v := c.get(f)
	if v == nil {
		if !c.want {
			return true, "" // an event without the flag is not a draft, not merged.
		}
		return false, fmt.Sprintf("%s: the event has no %s flag", c.name, c.name)
	}
	if *v == c.want {
		return true, ""
	}
	return false, fmt.Sprintf("%s: is %t, want %t", c.name, *v, c.want)
}

// pathsCond matches when any changed path starts with one of the prefixes.
type pathsCond struct {
	prefixes []string
}

func (c pathsCond) Eval(f *Facts) (bool, string) {
	if !f.HasPaths {
		return false, "paths: the event lists no changed paths"
	}
	for _, p := range f.Paths {
		for _, pre := range c.prefixes {
			if strings.HasPrefix(p, pre) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("paths: no changed path starts with any of [%s]", strings.Join(c.prefixes, ", "))
}

// exprCond runs an expression compiled at load.
type exprCond struct {
	src  string
	prog *vm.Program
}

func compileExpr(src string) (*exprCond, error) {
	prog, err := expr.Compile(src, expr.Env(exprEnvSample()), expr.AsBool())
	if err != nil {
		return nil, err
	}
	return &exprCond{src: src, prog: prog}, nil
}

func (c *exprCond) Eval(f *Facts) (bool, string) {
	env, err := f.Env()
	if err != nil {
		return false, fmt.Sprintf("expr: building the environment: %v", err)
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, fmt.Sprintf("expr: %q failed: %v", c.src, err)
	}
	if b, _ := out.(bool); b {
		return true, ""
	}
	return false, fmt.Sprintf("expr: %q is false", c.src)
}

// allCond holds when every condition holds.
type allCond []Cond

func (c allCond) Eval(f *Facts) (bool, string) {
	for _, sub := range c {
		if ok, why := sub.Eval(f); !ok {
			return false, why
		}
	}
	return true, ""
}

// anyCond holds when at least one condition holds.
type anyCond []Cond

func (c anyCond) Eval(f *Facts) (bool, string) {
	var whys []string
	for _, sub := range c {
		ok, why := sub.Eval(f)
		if ok {
			return true, ""
		}
		whys = append(whys, why)
	}
	return false, "any: none held (" + strings.Join(whys, "; ") + ")"
}

// notCond holds when its condition does not.
type notCond struct{ c Cond }

func (c notCond) Eval(f *Facts) (bool, string) {
	if ok, _ := c.c.Eval(f); ok {
		return false, "not: the negated condition held"
	}
	return true, ""
}

// always holds for every event.
type always struct{}

func (always) Eval(*Facts) (bool, string) { return true, "" }
