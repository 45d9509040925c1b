// Package routes loads ghnotify's routes file and decides, for each
// canonical event, which destinations receive it and why the others do
// not. Destination types (Slack webhooks, HTTP endpoints ...) are not its
// business: each is a Type given in Options that parses its own fields.
// It imports neither NATS nor any HTTP code.
package routes

import (
	"fmt"
	"sort"

	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
)

// Default rate limit of a destination: Slack's documented pace of about
// one message per second, with a small burst, a fair pace for any other
// destination too.
const (
	DefaultRate  = 1.0
	DefaultBurst = 3
)

// Destination is one place events are delivered to.
type Destination struct {
	Name string
	// Type is the destination's type: its key in the routes file
	// (webhook, channel, console, http ...).
	Type string
	// Endpoint is what the type parsed from the destination's fields:
	// for the sink, the poster events go through.
	Endpoint any
	// Rate is the most messages per second; Burst how many may go at once.
	Rate  float64
	Burst int
	// Filter, when set, must hold for an event routed here; otherwise the
	// event is skipped as "destination filtered".
	Filter Cond
	Line   int
	// Quiet, when set, holds events during the destination's quiet hours
	// (see Table.Plan).
	Quiet *schedule.Quiet
}

// Route is one rule of the routes file.
type Route struct {
	Name string
	Line int
	// Cond decides whether the route matches; nil matches every event.
	Cond Cond
	// To names the destinations of a matching event.
	To []string
	// Drop makes a matching event go nowhere, its name being the reason.
	Drop bool
	// Continue lets the events this route matched reach later routes too.
	Continue bool
	// Thread posts later events of an issue or pull request in the thread
	// of its first message; BroadcastFinal also posts the final state
	// (merged, closed) to the channel.
	Thread         bool
	BroadcastFinal bool
	// Mention are the Slack IDs every message of the route mentions.
	Mention []string
	// Urgent, when set, marks the events that bypass quiet hours; Digest,
	// when set, collects the route's events into a periodic digest.
	Urgent Cond
	Digest *schedule.Digest
}

// Table is a loaded, validated routes file.
type Table struct {
	// File is where the table came from, for messages.
	File         string
	Destinations map[string]*Destination
	Routes       []*Route
	// Default names the destination of events no route matched; empty
	// means such events are skipped.
	Default string
	// People maps GitHub logins and teams to Slack IDs; nil when the
	// file has no people key.
	People *People
	// Warnings are problems a lenient load let through (such as unset
	// environment variables).
	Warnings []string
}

// DefaultRouteName is the route name recorded for events sent to the
// default destination.
const DefaultRouteName = "default"

// Target is one delivery decided for an event.
type Target struct {
	Route          string
	Destination    *Destination
	Thread         bool
	BroadcastFinal bool
	// Mentions are the people map and the route's mentions.
	Mentions Mentions
}

// Skip records why an event does not go somewhere.
type Skip struct {
	Route       string
	Destination string
	Reason      string
}

// Decision is where an event goes and what was skipped.
type Decision struct {
	Targets []Target
	Skips   []Skip
}

// Decide routes the event described by f: routes are tried in order, the
// first match wins unless it says continue, a drop route stops routing,
// and an event no route matched goes to the default destination if any.
// A destination is targeted at most once per event.
func (t *Table) Decide(f *Facts) Decision {
	var d Decision
	seen := map[string]bool{}
	matched := false
	add := func(route string, r *Route, name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		dest := t.Destinations[name]
		if dest.Filter != nil {
			if ok, why := dest.Filter.Eval(f); !ok {
				d.Skips = append(d.Skips, Skip{Route: route, Destination: name, Reason: fmt.Sprintf("destination %s filtered the event: %s", name, why)})
				return
			}
		}
		tg := Target{Route: route, Destination: dest, Mentions: Mentions{People: t.People}}
		if r != nil {
			tg.Thread, tg.BroadcastFinal = r.Thread, r.BroadcastFinal
			tg.Mentions.Extra = r.Mention
		}
		d.Targets = append(d.Targets, tg)
	}
	for _, r := range t.Routes {
		if !r.matches(f) {
			continue
		}
		matched = true
		if r.Drop {
			d.Skips = append(d.Skips, Skip{Route: r.Name, Reason: "dropped by route " + r.Name})
			return d
		}
		for _, name := range r.To {
			add(r.Name, r, name)
		}
		if !r.Continue {
			return d
		}
	}
	if matched {
		return d
	}
	if t.Default != "" {
		add(DefaultRouteName, nil, t.Default)
		return d
	}
	d.Skips = append(d.Skips, Skip{Reason: "no route matched"})
	return d
}

func (r *Route) matches(f *Facts) bool {
	if r.Cond == nil {
		return true
	}
	ok, _ := r.Cond.Eval(f)
	return ok
}

// Explanation says what one route made of an event.
type Explanation struct {
	Route string `json:"route"`
	Line  int    `json:"line"`
	// Matched reports whether the route's conditions hold.
	Matched bool `json:"matched"`
	// Why names the first condition that failed.
	Why string `json:"why,omitempty"`
	// Reached is false for routes after the one that stopped routing.
	Reached bool `json:"reached"`
	// Action is what a matching route does: "drop", or "to a, b".
	Action string `json:"action,omitempty"`
}

// Explain evaluates every route against f, in order.
func (t *Table) Explain(f *Facts) []Explanation {
	var out []Explanation
	reached := true
	for _, r := range t.Routes {
		e := Explanation{Route: r.Name, Line: r.Line, Reached: reached, Matched: true}
		if r.Cond != nil {
			e.Matched, e.Why = r.Cond.Eval(f)
		}
		if e.Matched {
			if r.Drop {
				e.Action = "drop"
			} else {
				e.Action = fmt.Sprintf("to %v", r.To)
			}
			if r.Drop || !r.Continue {
				reached = false
			}
		}
		out = append(out, e)
	}
	return out
}

// DestinationNames returns the destination names in sorted order.
func (t *Table) DestinationNames() []string {
	names := make([]string, 0, len(t.Destinations))
	for n := range t.Destinations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
