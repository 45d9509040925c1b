package routes

import (
	"fmt"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/goccy/go-yaml/ast"
)

// This file reads quiet hours (a destination's quiet:), urgent routes
// (urgent:) and digests (a route's digest:) and plans, for an event
// routed to a destination, whether it is posted now, held until the quiet
// hours end, or collected into a digest (Table.Plan).

// quiet reads a destination's quiet: {from, to, tz, days}.
func (l *loader) quiet(n ast.Node, what string) *schedule.Quiet {
	what += ": quiet"
	q := &schedule.Quiet{}
	var fromNode, toNode, tzNode ast.Node
	var from, to string
	days := 0
	for _, e := range l.mapping(n, what, "from", "to", "tz", "days") {
		switch e.key {
		case "from":
			fromNode = e.val
			from, _ = l.str(e.val, what+": from")
		case "to":
			toNode = e.val
			to, _ = l.str(e.val, what+": to")
		case "tz":
			tzNode = e.val
			if s, ok := l.str(e.val, what+": tz"); ok {
				loc, err := schedule.LoadZone(s)
				if err != nil {
					l.errorf(e.val, "%s: tz: %v", what, err)
				}
				q.Loc = loc
			}
		case "days":
			for _, s := range l.strList(e.val, what+": days") {
				d, err := schedule.ParseDay(s)
				if err != nil {
					l.errorf(e.val, "%s: days: %v", what, err)
					continue
				}
				q.Days[d] = true
				days++
			}
		}
	}
	switch {
	case (fromNode == nil) != (toNode == nil):
		l.errorf(n, "%s needs both from and to (or neither, with days)", what)
	case fromNode != nil:
		var err error
		if q.From, err = schedule.ParseClock(from); err != nil {
			l.errorf(fromNode, "%s: from: %v", what, err)
		}
		if q.To, err = schedule.ParseClock(to); err != nil {
			l.errorf(toNode, "%s: to: %v", what, err)
		}
		if err == nil && q.From == q.To {
			l.errorf(toNode, "%s: from and to are the same time; list the days that are quiet all day instead", what)
		}
		q.Window = true
	case days == 0:
		l.errorf(n, "%s needs from and to, or days", what)
	}
	if days == 7 {
		l.errorf(n, "%s: every day is quiet all day, so nothing would ever be posted", what)
	}
	if tzNode == nil {
		l.errorf(n, "%s needs tz (a time zone such as Europe/Berlin or UTC)", what)
	}
	return q
}

// urgent reads a route's urgent: true, or a condition that marks the
// route's urgent events (urgent: {kind: workflow_run.completed}).
func (l *loader) urgent(n ast.Node, what string) Cond {
	what += ": urgent"
	if b, ok := unwrap(n).(*ast.BoolNode); ok {
		if b.Value {
			return always{}
		}
		return nil
	}
	switch unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return l.cond(n, what)
	}
	l.errorf(n, "%s must be true, false or a condition (a mapping like match:)", what)
	return nil
}

// digest reads a route's digest: {every, at, tz}, or "quiet" for a
// digest of what comes during the destination's quiet hours.
func (l *loader) digest(n ast.Node, what string) *schedule.Digest {
	what += ": digest"
	d := &schedule.Digest{Loc: time.UTC}
	if s, ok := unwrap(n).(*ast.StringNode); ok {
		if s.Value != "quiet" {
			l.errorf(n, "%s must be quiet or a mapping {every, at, tz}", what)
		}
		d.QuietOnly = true
		return d
	}
	var everyNode, atNode ast.Node
	for _, e := range l.mapping(n, what, "every", "at", "tz") {
		switch e.key {
		case "every":
			everyNode = e.val
			if s, ok := l.str(e.val, what+": every"); ok {
				every, err := time.ParseDuration(s)
				if err == nil {
					err = schedule.CheckEvery(every)
				}
				if err != nil {
					l.errorf(e.val, "%s: every: %v", what, strings.TrimPrefix(err.Error(), "time: "))
				}
				d.Every = every
			}
		case "at":
			atNode = e.val
			if s, ok := l.str(e.val, what+": at"); ok {
				c, err := schedule.ParseClock(s)
				if err != nil {
					l.errorf(e.val, "%s: at: %v", what, err)
				}
				d.At = c
			}
		case "tz":
			if s, ok := l.str(e.val, what+": tz"); ok {
				loc, err := schedule.LoadZone(s)
				if err != nil {
					l.errorf(e.val, "%s: tz: %v", what, err)
					continue
				}
				d.Loc = loc
			}
		}
	}
	if everyNode == nil {
		l.errorf(n, "%s needs every (1h, 24h ...)", what)
	}
	if atNode != nil && d.Every != 24*time.Hour {
		l.errorf(atNode, "%s: at applies to a daily digest (every: 24h) only", what)
	}
	return d
}

// checkSchedule reports what a route's urgent and digest cannot do
// together, and a quiet-hours digest to a destination without quiet hours.
func (l *loader) checkSchedule(r *Route, t *Table, urgentNode ast.Node, what string) {
	if r.Digest != nil && r.Digest.QuietOnly {
		for _, name := range r.To {
			if d := t.Destinations[name]; d != nil && d.Quiet == nil {
				l.errorf(urgentNode, "%s: digest: quiet needs quiet hours, and destination %q has none", what, name)
			}
		}
		return
	}
	if r.Digest != nil && r.Urgent != nil {
		l.errorf(urgentNode, "%s: an urgent route posts at once and a digest route collects; choose one", what)
	}
	if r.Digest != nil && r.Drop {
		l.errorf(urgentNode, "%s: a drop route collects nothing; remove digest or drop", what)
	}
}

// Plan says what happens to an event with facts f routed to tg at now:
// posted now, held until the destination's quiet hours end, or collected
// into the route's digest.
func (t *Table) Plan(tg Target, f *Facts, now time.Time) schedule.Plan {
	var r *Route
	for _, cand := range t.Routes {
		if cand.Name == tg.Route {
			r = cand
			break
		}
	}
	var q *schedule.Quiet
	if tg.Destination != nil {
		q = tg.Destination.Quiet
	}
	var d *schedule.Digest
	urgent := false
	if r != nil {
		d = r.Digest
		if r.Urgent != nil {
			urgent, _ = r.Urgent.Eval(f)
		}
	}
	return schedule.Decide(now, q, d, urgent)
}

// DescribePlan says in words what a plan does with an event, for ghnotify
// routes test and traces.
func DescribePlan(p schedule.Plan, route, destination string) string {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch p.Action {
	case schedule.Hold:
		return fmt.Sprintf("held until %s (quiet hours of %s)", stamp(p.Until), destination)
	case schedule.Collect:
		if p.Start.IsZero() {
			return fmt.Sprintf("collected into digest of route %s for %s (quiet hours), posted at %s", route, destination, stamp(p.Until))
		}
		return fmt.Sprintf("collected into digest of route %s for %s (period %s to %s), posted at %s", route, destination, stamp(p.Start), stamp(p.End), stamp(p.Until))
	}
	if p.Why == "urgent" {
		return "posted now (urgent: bypasses quiet hours)"
	}
	return "posted now"
}
