package routes_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
)

const peopleFile = `destinations:
  eng:
    webhook: ${HOOK}
people:
  users:
    Alice: U0ALICE01
    bob: W0BOB0001
  teams:
    acme/core: S0CORE001
    docs: S0DOCS001
  groups:
    oncall: S0ONCALL1
routes:
  - name: failures
    match:
      kind: workflow_run.completed
    mention: [oncall, alice, acme/core, U0RAW0001, oncall]
    to: eng
  - name: rest
    to: eng
`

func TestPeople(t *testing.T) {
	tb := mustParse(t, peopleFile)
	p := tb.People
	for _, tc := range []struct {
		got  func() (string, bool)
		want string
	}{
		{func() (string, bool) { return p.User("alice") }, "U0ALICE01"},
		{func() (string, bool) { return p.User("ALICE") }, "U0ALICE01"},
		{func() (string, bool) { return p.User("Bob") }, "W0BOB0001"},
		{func() (string, bool) { return p.User("carol") }, ""},
		{func() (string, bool) { return p.Team("acme", "core") }, "S0CORE001"},
		{func() (string, bool) { return p.Team("Acme", "Core") }, "S0CORE001"},
		{func() (string, bool) { return p.Team("other", "core") }, ""},
		{func() (string, bool) { return p.Team("anyorg", "docs") }, "S0DOCS001"},
	} {
		id, ok := tc.got()
		if id != tc.want || ok != (tc.want != "") {
			t.Errorf("got %q %v, want %q", id, ok, tc.want)
		}
	}
	d := tb.Decide(routes.NewFacts(ev("workflow_run.completed")))
	if len(d.Targets) != 1 {
		t.Fatalf("targets = %+v", d.Targets)
	}
	m := d.Targets[0].Mentions
	if got := strings.Join(m.Extra, " "); got != "S0ONCALL1 U0ALICE01 S0CORE001 U0RAW0001" {
		t.Errorf("route mentions = %q", got)
	}
	if m.People != tb.People {
		t.Error("the target does not carry the people map")
	}
	rest := tb.Decide(routes.NewFacts(ev("issues.opened"))).Targets[0].Mentions
	if len(rest.Extra) != 0 || rest.People != tb.People {
		t.Errorf("a route without mention: %+v", rest)
	}
	var none *routes.People
	if _, ok := none.User("alice"); ok {
		t.Error("a nil people map knows alice")
	}
}

func TestPeopleErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"member id for a team", "people:\n  teams:\n    acme/core: U0ALICE01\n", `test.yaml:3:16: people: teams: acme/core: "U0ALICE01" is a member ID; a GitHub team maps to a Slack user group ID (S…)`},
		{"group id for a user", "people:\n  users:\n    alice: S0CORE001\n", `test.yaml:3:12: people: users: alice: "S0CORE001" is a user group ID`},
		{"lower case", "people:\n  users:\n    alice: u0alice01\n", `test.yaml:3:12: people: users: alice: "u0alice01" is not a Slack member ID`},
		{"a mention in the map", "people:\n  groups:\n    all: <!channel>\n", `test.yaml:3:10: people: groups: all: "<!channel>" is not a Slack member ID (U… or W…) nor a user group ID (S…)`},
		{"duplicate", "people:\n  users:\n    alice: U0ALICE01\n    ALICE: U0ALICE02\n", `test.yaml:4:5: people: users: "ALICE" appears twice`},
		{"unknown key", "people:\n  humans: {}\n", `test.yaml:2:3: people: unknown key "humans"`},
		{"unknown mention", "routes:\n  - name: r\n    mention: [oncall]\n    to: eng\n", `test.yaml:3:14: route "r": mention: "oncall" is neither a name in people`},
		{"here is no id", "routes:\n  - name: r\n    mention: here\n    to: eng\n", `route "r": mention: "here" is neither a name in people`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "destinations:\n  eng:\n    webhook: https://hooks.example/a\n" + tc.src
			if !strings.HasPrefix(tc.src, "routes:") {
				src += "default: eng\n"
			}
			_, err := routes.Parse("test.yaml", []byte(src), routes.Options{Types: types("x")})
			var le *routes.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a LoadError", err)
			}
			// The file's first three lines hold the destination.
			want := shiftLines(tc.want, 3)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, want)
			}
		})
	}
}

// shiftLines adds n to the line of a "test.yaml:L:C:" prefix.
func shiftLines(s string, n int) string {
	var line, col int
	var rest string
	if k, _ := fmt.Sscanf(s, "test.yaml:%d:%d:", &line, &col); k != 2 {
		return s
	}
	_, rest, _ = strings.Cut(s, fmt.Sprintf("test.yaml:%d:%d:", line, col))
	return fmt.Sprintf("test.yaml:%d:%d:%s", line+n, col, rest)
}

func TestSlackIDForms(t *testing.T) {
	for id, want := range map[string][2]bool{
		"U0123ABCD": {true, false}, "W0123ABCD": {true, false}, "S0123ABCD": {false, true},
		"u0123abcd": {false, false}, "C0123ABCD": {false, false}, "U": {false, false}, "<@U0123>": {false, false}, "U01 23": {false, false},
	} {
		if got := [2]bool{routes.IsMemberID(id), routes.IsGroupID(id)}; got != want {
			t.Errorf("%q: member, group = %v, want %v", id, got, want)
		}
	}
}

// TestPeopleFile: people may name a file of its own, relative to the
// routes file; its problems name that file.
func TestPeopleFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("people.yaml", "users:\n  alice: U0ALICE01\ngroups:\n  oncall: S0ONCALL1\n")
	routesFile := write("routes.yaml", "destinations:\n  eng: {console: true}\npeople: people.yaml\nroutes:\n  - name: r\n    mention: [oncall]\n    to: eng\n")
	tb, err := routes.Load(routesFile, routes.Options{Types: types("x")})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tb.People.User("alice"); id != "U0ALICE01" {
		t.Errorf("alice = %q", id)
	}
	if got := tb.Routes[0].Mention; len(got) != 1 || got[0] != "S0ONCALL1" {
		t.Errorf("mention = %v", got)
	}
	bad := write("bad-people.yaml", "users:\n  alice: S0ALICE01\n")
	write("routes.yaml", "destinations:\n  eng: {console: true}\npeople: bad-people.yaml\ndefault: eng\n")
	if _, err := routes.Load(routesFile, routes.Options{Types: types("x")}); err == nil || !strings.Contains(err.Error(), bad+`:2:10: people: users: alice: "S0ALICE01" is a user group ID`) {
		t.Errorf("err = %v", err)
	}
	write("routes.yaml", "destinations:\n  eng: {console: true}\npeople: missing.yaml\ndefault: eng\n")
	if _, err := routes.Load(routesFile, routes.Options{Types: types("x")}); err == nil || !strings.Contains(err.Error(), "routes.yaml:3:9: people: reading the people file") {
		t.Errorf("err = %v", err)
	}
}
