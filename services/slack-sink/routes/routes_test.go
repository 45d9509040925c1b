package routes_test

import (
	"errors"
	"strings"
	"testing"

	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/event"
)

func boolp(b bool) *bool { return &b }

// ev builds a small canonical event for tests.
func ev(kind string, mods ...func(*event.Event)) *event.Event {
	name, _, _ := strings.Cut(kind, ".")
	e := &event.Event{SpecVersion: "1.0", ID: "d1/" + kind, Source: "x", Type: event.Type(kind), Data: event.Data{
		Kind: kind, Event: name, DeliveryID: "d1",
		Repository: &event.Repository{Owner: "Acme", Name: "Widgets", FullName: "Acme/Widgets", DefaultBranch: "main"},
		Actor:      event.Actor{Login: "octocat"},
		Target:     &event.Target{Type: "pull_request", Number: 7, Title: "Fix", BaseBranch: "main", HeadBranch: "feature/x", Labels: []string{"bug", "Needs-Review"}, Draft: boolp(false)},
	}}
	for _, m := range mods {
		m(e)
	}
	return e
}

// types are the sink's destination types; token is SLACK_BOT_TOKEN.
func types(token string) routes.Types {
	return sink.DestinationTypes(sink.Config{BotToken: config.Secret(token)})
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustParse(t *testing.T, src string) *routes.Table {
	t.Helper()
	tb, err := routes.Parse("test.yaml", []byte(src), routes.Options{Lookup: lookup(map[string]string{"HOOK": "https://hooks.example/a"}), Types: types("xoxb-test")})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tb
}

func TestConditions(t *testing.T) {
	bot := func(e *event.Event) { e.Data.Actor = event.Actor{Login: "dependabot[bot]", Bot: true} }
	draft := func(e *event.Event) { e.Data.Target.Draft = boolp(true) }
	noTarget := func(e *event.Event) { e.Data.Target = nil }
	push := func(e *event.Event) {
		e.Data.Target = nil
		e.Data.Details = &event.Details{Ref: "refs/heads/release/1.2", Commits: []event.Commit{{Modified: []string{"services/api/main.go"}}}}
	}
	tag := func(e *event.Event) { e.Data.Target = nil; e.Data.Details = &event.Details{Ref: "refs/tags/v1"} }
	tests := []struct {
		name, cond string
		ev         *event.Event
		want       bool
		why        string
	}{
		{"kind glob", `kind: "pull_request.*"`, ev("pull_request.opened"), true, ""},
		{"kind glob misses", `kind: "issues.*"`, ev("pull_request.opened"), false, "kind"},
		{"kind list", `kind: [issues.opened, pull_request.opened]`, ev("pull_request.opened"), true, ""},
		{"repo glob folds case", `repo: "acme/*"`, ev("pull_request.opened"), true, ""},
		{"repo miss", `repo: "other/*"`, ev("pull_request.opened"), false, "repo"},
		{"owner", `owner: ACME`, ev("pull_request.opened"), true, ""},
		{"base", `base: main`, ev("pull_request.opened"), true, ""},
		{"head glob", `head: "feature/*"`, ev("pull_request.opened"), true, ""},
		{"head miss", `head: "fix/*"`, ev("pull_request.opened"), false, "head"},
		{"pushed branch", `branch: "release/*"`, ev("push.pushed", push), true, ""},
		{"tag is no branch", `branch: "*"`, ev("push.pushed", tag), false, "no branch"},
		{"labels any", `labels: {any: [bug, docs]}`, ev("pull_request.opened"), true, ""},
		{"labels plain list is any", `labels: [docs, bug]`, ev("pull_request.opened"), true, ""},
		{"labels any miss", `labels: {any: [docs]}`, ev("pull_request.opened"), false, "labels.any"},
		{"labels all", `labels: {all: [bug, needs-review]}`, ev("pull_request.opened"), true, ""},
		{"labels all miss", `labels: {all: [bug, docs]}`, ev("pull_request.opened"), false, "labels.all"},
		{"labels none", `labels: {none: [wip]}`, ev("pull_request.opened"), true, ""},
		{"labels none miss", `labels: {none: ["needs-*"]}`, ev("pull_request.opened"), false, "labels.none"},
		{"actor", `actor: [octocat]`, ev("pull_request.opened"), true, ""},
		{"actor miss", `actor: ["dependabot*"]`, ev("pull_request.opened"), false, "actor"},
		{"bot true", `bot: true`, ev("pull_request.opened", bot), true, ""},
		{"bot false on bot", `bot: false`, ev("pull_request.opened", bot), false, "bot"},
		{"draft true", `draft: true`, ev("pull_request.opened", draft), true, ""},
		{"draft false", `draft: false`, ev("pull_request.opened"), true, ""},
		{"draft false without target", `draft: false`, ev("issues.opened", noTarget), true, ""},
		{"draft true without flag", `draft: true`, ev("issues.opened", noTarget), false, "no draft"},
		{"merged from kind", `merged: true`, ev("pull_request.merged"), true, ""},
		{"merged false", `merged: false`, ev("pull_request.closed", func(e *event.Event) { e.Data.Target.Merged = boolp(false) }), true, ""},
		{"paths prefix", `paths: [services/api/]`, ev("push.pushed", push), true, ""},
		{"paths miss", `paths: [docs/]`, ev("push.pushed", push), false, "paths"},
		{"paths none listed", `paths: [docs/]`, ev("pull_request.opened"), false, "lists no changed paths"},
		{"expr", `expr: 'data.target.number > 5 && repo == "acme/widgets"'`, ev("pull_request.opened"), true, ""},
		{"expr false", `expr: 'data.target.number > 50'`, ev("pull_request.opened"), false, "is false"},
		{"expr labels shortcut", `expr: '"bug" in labels'`, ev("pull_request.opened"), true, ""},
		{"all", `all: [{kind: "pull_request.*"}, {bot: false}]`, ev("pull_request.opened"), true, ""},
		{"all miss", `all: [{kind: "pull_request.*"}, {bot: true}]`, ev("pull_request.opened"), false, "bot"},
		{"any", `any: [{kind: "issues.*"}, {labels: [bug]}]`, ev("pull_request.opened"), true, ""},
		{"any miss", `any: [{kind: "issues.*"}, {labels: [docs]}]`, ev("pull_request.opened"), false, "any: none held"},
		{"not", `not: {bot: true}`, ev("pull_request.opened"), true, ""},
		{"not miss", `not: {actor: ["dependabot*"]}`, ev("pull_request.opened", bot), false, "not"},
		{"keys are anded", "kind: \"pull_request.*\"\n      draft: true", ev("pull_request.opened"), false, "draft"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := mustParse(t, "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: d\n    match:\n      "+tc.cond+"\n")
			ok, why := tb.Routes[0].Cond.Eval(routes.NewFacts(tc.ev))
			if ok != tc.want {
				t.Fatalf("Eval = %v (%s), want %v", ok, why, tc.want)
			}
			if !tc.want && !strings.Contains(why, tc.why) {
				t.Errorf("why = %q, want it to mention %q", why, tc.why)
			}
		})
	}
}

const decideFile = `
destinations:
  eng: {webhook: "${HOOK}"}
  prs: {channel: C1, thread: false}
  all: {webhook: "${HOOK}"}
  fallback: {webhook: "${HOOK}", match: {not: {kind: "watch.*"}}}
default: fallback
routes:
  - name: no-bots
    drop: true
    match: {bot: true}
  - name: audit
    to: all
    continue: true
    match: {kind: "pull_request.*"}
  - name: pulls
    to: [prs, eng]
    match: {kind: "pull_request.*"}
  - name: pulls-again
    to: eng
    match: {kind: "pull_request.*"}
  - name: issues
    to: eng
    match: {kind: "issues.*"}
`

func TestDecide(t *testing.T) {
	src := strings.Replace(decideFile, "prs: {channel: C1, thread: false}", "prs: {channel: C1}", 1)
	tb := mustParse(t, src)
	bot := func(e *event.Event) { e.Data.Actor.Bot = true }
	tests := []struct {
		name    string
		ev      *event.Event
		targets []string // route>destination
		skips   []string
	}{
		{"fan-out then first match wins", ev("pull_request.opened"), []string{"audit>all", "pulls>prs", "pulls>eng"}, nil},
		{"first match", ev("issues.opened"), []string{"issues>eng"}, nil},
		{"drop", ev("pull_request.opened", bot), nil, []string{"dropped by route no-bots"}},
		{"default", ev("star.created"), []string{"default>fallback"}, nil},
		{"default filtered", ev("watch.started"), nil, []string{"destination fallback filtered the event"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tb.Decide(routes.NewFacts(tc.ev))
			var got []string
			for _, tg := range d.Targets {
				got = append(got, tg.Route+">"+tg.Destination.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.targets, ",") {
				t.Errorf("targets = %v, want %v", got, tc.targets)
			}
			if len(d.Skips) != len(tc.skips) {
				t.Fatalf("skips = %+v, want %v", d.Skips, tc.skips)
			}
			for i, s := range tc.skips {
				if !strings.Contains(d.Skips[i].Reason, s) {
					t.Errorf("skip %d = %q, want %q", i, d.Skips[i].Reason, s)
				}
			}
		})
	}
	noDefault := mustParse(t, "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: d, match: {kind: issues.opened}}\n")
	if d := noDefault.Decide(routes.NewFacts(ev("star.created"))); len(d.Targets) != 0 || len(d.Skips) != 1 || d.Skips[0].Reason != "no route matched" {
		t.Errorf("no default: %+v", d)
	}
}

func TestExplain(t *testing.T) {
	tb := mustParse(t, strings.Replace(decideFile, "prs: {channel: C1, thread: false}", "prs: {channel: C1}", 1))
	ex := tb.Explain(routes.NewFacts(ev("issues.opened")))
	if len(ex) != 5 {
		t.Fatalf("got %d explanations", len(ex))
	}
	if ex[0].Matched || !strings.Contains(ex[0].Why, "bot") {
		t.Errorf("no-bots: %+v", ex[0])
	}
	if ex[4].Route != "issues" || !ex[4].Matched || ex[4].Line == 0 {
		t.Errorf("issues: %+v", ex[4])
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // "line: text"
	}{
		{"unknown top key", "destinations: {}\nroute: []\n", []string{"test.yaml:2:1: routes file: unknown key \"route\""}},
		{"unknown route key", "destinations:\n  d: {webhook: x}\nroutes:\n  - name: r\n    to: d\n    matches: {}\n", []string{"test.yaml:6:5: route: unknown key \"matches\""}},
		{"unknown cond key", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: d\n    match:\n      label: [x]\n", []string{"test.yaml:7:7", "unknown key \"label\""}},
		{"bad glob", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: d\n    match: {kind: \"[\"}\n", []string{"test.yaml:6:", "bad glob"}},
		{"bad expr", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: d\n    match:\n      expr: 'data.target.number >'\n", []string{"test.yaml:7:", "expr"}},
		{"expr not bool", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: d\n    match:\n      expr: '1 + 2'\n", []string{"test.yaml:7:", "expr"}},
		{"undefined destination", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - name: r\n    to: [d, nope]\n", []string{"test.yaml:5:", "destination \"nope\" is not defined"}},
		{"undefined default", "destinations:\n  d: {webhook: \"${HOOK}\"}\ndefault: x\n", []string{"test.yaml:3:", "default: destination \"x\""}},
		{"unset env", "destinations:\n  d: {webhook: \"${NOPE}\"}\ndefault: d\n", []string{"test.yaml:2:", "NOPE is not set"}},
		{"no name", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - to: d\n", []string{"test.yaml:4:", "needs a name"}},
		{"duplicate name", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: d}\n  - {name: r, to: d}\n", []string{"test.yaml:5:", "already defined on line 4"}},
		{"thread on webhook", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: d, thread: true}\n", []string{"test.yaml:4:", "thread: true needs channel"}},
		{"drop with to", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: d, drop: true}\n", []string{"test.yaml:4:", "drop route"}},
		{"syntax", "destinations:\n  d: [\n", []string{"test.yaml:"}},
		{"not a bool", "destinations:\n  d: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: d, continue: yes please}\n", []string{"test.yaml:4:", "true or false"}},
		{"two kinds", "destinations:\n  d: {webhook: \"${HOOK}\", channel: C1}\ndefault: d\n", []string{"test.yaml:2:", "more than one"}},
		{"token on a webhook", "destinations:\n  d: {webhook: \"${HOOK}\", token: x}\ndefault: d\n", []string{"test.yaml:2:", "token applies to channel destinations only"}},
		{"secret on a webhook", "destinations:\n  d: {webhook: \"${HOOK}\", secret: \"${HOOK}\"}\ndefault: d\n", []string{"test.yaml:2:", "secret applies to http destinations only"}},
		{"no type", "destinations:\n  d: {rate: 2}\ndefault: d\n", []string{"test.yaml:2:3", "needs one of channel, console, http or webhook"}},
		{"console false", "destinations:\n  d: {console: false}\ndefault: d\n", []string{"test.yaml:2:", "console must be true"}},
		{"channel needs token", "destinations:\n  d: {channel: C1}\ndefault: d\n", []string{"test.yaml:2:", "needs a token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routes.Parse("test.yaml", []byte(tc.src), routes.Options{Lookup: lookup(map[string]string{"HOOK": "https://hooks.example/a"}), Types: types("")})
			var le *routes.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a LoadError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	_, err := routes.Parse("t.yaml", []byte("destinations:\n  d: {webhook: \"${HOOK}\"}\n  e: {webhook: \"${HOOK}\"}\nroutes:\n  - {name: r, to: nope}\n"),
		routes.Options{Lookup: lookup(map[string]string{"HOOK": "ftp://secret-hook-value"}), Types: types("")})
	if err == nil || strings.Contains(err.Error(), "secret-hook-value") {
		t.Fatalf("err = %v: want an error that does not show the webhook", err)
	}
}

func TestLenient(t *testing.T) {
	tb, err := routes.Parse("t.yaml", []byte("destinations:\n  d: {channel: \"${CH}\"}\ndefault: d\n"), routes.Options{Lookup: lookup(nil), Lenient: true, Types: types("")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Warnings) != 2 {
		t.Errorf("warnings = %q, want unset CH and missing token", tb.Warnings)
	}
}

func TestDefaults(t *testing.T) {
	tb, err := routes.DefaultWebhook("https://hooks.example/x", routes.Options{Types: types("")})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range routes.CoreKinds {
		if d := tb.Decide(routes.NewFacts(ev(k))); len(d.Targets) != 1 {
			t.Errorf("%s not sent by the default webhook route", k)
		}
	}
	for _, k := range []string{"pull_request.labeled", "watch.started", "release.created", "workflow_run.requested"} {
		if d := tb.Decide(routes.NewFacts(ev(k))); len(d.Targets) != 0 {
			t.Errorf("%s sent by the default route", k)
		}
	}
	run := func(conclusion, branch string) *event.Event {
		return ev("workflow_run.completed", func(e *event.Event) {
			e.Data.Target = &event.Target{Type: "workflow_run", Title: "CI", HeadBranch: branch}
			e.Data.Details = &event.Details{Conclusion: conclusion, Status: "completed"}
		})
	}
	for _, tc := range []struct {
		ev   *event.Event
		want int
	}{
		{run("failure", "main"), 1},
		{run("timed_out", "main"), 1},
		{run("startup_failure", "main"), 1},
		{run("success", "main"), 0},
		{run("cancelled", "main"), 0},
		{run("failure", "feature/x"), 0},
		{run("failure", ""), 0},
		{ev("workflow_run.completed", func(e *event.Event) { e.Data.Target, e.Data.Details = nil, nil }), 0},
	} {
		if d := tb.Decide(routes.NewFacts(tc.ev)); len(d.Targets) != tc.want {
			t.Errorf("workflow run %+v on %q: %d targets, want %d", tc.ev.Data.Details, branchOf(tc.ev), len(d.Targets), tc.want)
		}
	}
	ct, err := routes.DefaultConsole(routes.Options{Types: types("")})
	if err != nil {
		t.Fatal(err)
	}
	if d := ct.Decide(routes.NewFacts(ev("pull_request.labeled"))); len(d.Targets) != 1 || d.Targets[0].Destination.Type != "console" {
		t.Errorf("console default: %+v", d)
	}
}

func branchOf(e *event.Event) string {
	if e.Data.Target == nil {
		return ""
	}
	return e.Data.Target.HeadBranch
}

// FuzzParse checks that no routes file makes the loader panic, and that a
// file it accepts decides without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(decideFile))
	f.Add([]byte("destinations: {d: {console: true}}\ndefault: d\n"))
	f.Add([]byte("routes:\n  - name: x\n    match: {any: [{not: {expr: 'kind'}}]}\n"))
	f.Add([]byte("a: [\n"))
	f.Add([]byte(peopleFile))
	f.Add([]byte("people: {users: {a: U1}, teams: {b: S1}}\nroutes:\n  - {name: r, mention: [a, b, W0X], drop: true}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		tb, err := routes.Parse("f.yaml", src, routes.Options{Lookup: lookup(map[string]string{"HOOK": "https://h.example/x"}), Types: types("x")})
		if err != nil {
			return
		}
		tb.Decide(routes.NewFacts(ev("pull_request.opened")))
		tb.Explain(routes.NewFacts(ev("push.pushed")))
	})
}
