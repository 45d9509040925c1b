package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliRoutes = `destinations:
  console: {console: true}
routes:
  - name: no-bots
    drop: true
    match: {bot: true}
  - name: issues
    match: {kind: "issues.*"}
    to: console
`

func TestRoutesCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"routes", "check", writeFile(t, "ok.yaml", cliRoutes)}, &out, &errOut, envOf(nil)); err != nil {
		t.Fatalf("check of a valid file: %v", err)
	}
	if !strings.Contains(out.String(), "ok (1 destinations, 2 routes)") {
		t.Errorf("output %q", out.String())
	}
	bad := writeFile(t, "bad.yaml", "destinations:\n  console: {console: true}\nroutes:\n  - {name: r, to: nowhere}\n")
	err := run(context.Background(), []string{"routes", "check", bad}, &out, &errOut, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4:") || !strings.Contains(err.Error(), `"nowhere" is not defined`) {
		t.Errorf("check of an invalid file: %v", err)
	}
}

// TestRoutesCheckPeople: routes check validates the Slack IDs of the
// people map and of mention lists, naming file, line and column.
func TestRoutesCheckPeople(t *testing.T) {
	const people = "destinations:\n  console: {console: true}\npeople:\n  users: {octocat: U0123ABCD}\n  teams:\n    acme/core: %s\nroutes:\n  - name: r\n    mention: [%s]\n    to: console\n"
	var out, errOut bytes.Buffer
	ok := writeFile(t, "people.yaml", fmt.Sprintf(people, "S0123ABCD", "octocat"))
	if err := run(context.Background(), []string{"routes", "check", ok}, &out, &errOut, envOf(nil)); err != nil {
		t.Fatalf("check of a valid file: %v", err)
	}
	if !strings.Contains(out.String(), "people: 1 users, 1 teams, 0 groups") {
		t.Errorf("output %q", out.String())
	}
	for _, tc := range []struct{ team, mention, want string }{
		{"U0123ABCD", "octocat", `bad.yaml:6:16: people: teams: acme/core: "U0123ABCD" is a member ID`},
		{"s0123abcd", "octocat", `bad.yaml:6:16: people: teams: acme/core: "s0123abcd" is not a Slack user group ID`},
		{"S0123ABCD", "oncall", `bad.yaml:9:14: route "r": mention: "oncall" is neither a name in people`},
	} {
		bad := writeFile(t, "bad.yaml", fmt.Sprintf(people, tc.team, tc.mention))
		err := run(context.Background(), []string{"routes", "check", bad}, &out, &errOut, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check: %v, want %s", err, tc.want)
		}
	}
}

func TestRoutesTest(t *testing.T) {
	payload := `{"action":"opened","issue":{"number":3,"title":"<!channel> broken","html_url":"https://github.com/acme/w/issues/3","user":{"login":"mona"},"labels":[]},
"repository":{"name":"w","full_name":"acme/w","owner":{"login":"acme"},"html_url":"https://github.com/acme/w"},"sender":{"login":"mona","type":"User"}}`
	var out, errOut bytes.Buffer
	args := []string{"test", "--routes", writeFile(t, "r.yaml", cliRoutes), "--event", "issues", writeFile(t, "p.json", payload)}
	if err := run(context.Background(), append([]string{"routes"}, args...), &out, &errOut, envOf(nil)); err != nil {
		t.Fatalf("routes test: %v (%s)", err, errOut.String())
	}
	var reports []routeTestReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(reports) != 1 || reports[0].Kind != "issues.opened" {
		t.Fatalf("reports = %+v", reports)
	}
	r := reports[0]
	if len(r.Routes) != 2 || r.Routes[0].Matched || !strings.Contains(r.Routes[0].Why, "bot") || !r.Routes[1].Matched {
		t.Errorf("explanations = %+v", r.Routes)
	}
	if len(r.Targets) != 1 || r.Targets[0].Destination != "console" {
		t.Errorf("targets = %+v", r.Targets)
	}
	if msg := string(r.Messages["console"]); !strings.Contains(msg, "&lt;!channel&gt;") || strings.Contains(msg, "<!channel>") {
		t.Errorf("message not escaped: %s", msg)
	}
}

// TestRoutesCheckUsesTheGivenEnvironment checks that ${NAME} and
// SLACK_BOT_TOKEN come from the lookup the command was given, and that the
// resolved secrets appear in neither the output nor the errors.
func TestRoutesCheckUsesTheGivenEnvironment(t *testing.T) {
	const hook = "https://hooks.slack.example/services/T0/B0/hook-secret-value"
	file := writeFile(t, "env.yaml", "destinations:\n  hook: {webhook: \"${TEAM_HOOK}\"}\n  chan: {channel: C1}\nroutes:\n  - {name: a, to: hook}\n  - {name: b, to: chan}\n")
	tests := []struct {
		name     string
		env      map[string]string
		warnings []string
	}{
		{"everything set", map[string]string{"TEAM_HOOK": hook, "SLACK_BOT_TOKEN": "xoxb-token-secret"}, nil},
		{"nothing set", nil, []string{"TEAM_HOOK is not set", "SLACK_BOT_TOKEN is not set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEAM_HOOK", "https://hooks.slack.example/from-the-process-environment")
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{"routes", "check", file}, &out, &errOut, envOf(tc.env)); err != nil {
				t.Fatalf("check: %v", err)
			}
			if got := strings.Count(errOut.String(), "warning:"); got != len(tc.warnings) {
				t.Errorf("%d warnings, want %d:\n%s", got, len(tc.warnings), errOut.String())
			}
			for _, w := range tc.warnings {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("warnings lack %q:\n%s", w, errOut.String())
				}
			}
			all := out.String() + errOut.String()
			for _, secret := range []string{"hook-secret-value", "xoxb-token-secret", "from-the-process-environment"} {
				if strings.Contains(all, secret) {
					t.Errorf("output shows %q:\n%s", secret, all)
				}
			}
		})
	}
	bad := writeFile(t, "bad.yaml", "destinations:\n  hook: {webhook: \"${TEAM_HOOK}\"}\nroutes:\n  - {name: a, to: [hook, nowhere]}\n")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"routes", "check", bad}, &out, &errOut, envOf(map[string]string{"TEAM_HOOK": hook}))
	if err == nil || strings.Contains(err.Error(), "hook-secret-value") || !strings.Contains(err.Error(), "bad.yaml:4:") {
		t.Errorf("check of an invalid file: %v", err)
	}
}

// TestRoutesTestShowsTheCloudEventForHTTP checks that routes test shows
// an http destination the CloudEvent it would receive, beside the Slack
// message of a console destination, and neither its URL nor its secret.
func TestRoutesTestShowsTheCloudEventForHTTP(t *testing.T) {
	payload := `{"action":"opened","issue":{"number":3,"title":"broken","html_url":"https://github.com/acme/w/issues/3","user":{"login":"mona"},"labels":[]},
"repository":{"name":"w","full_name":"acme/w","owner":{"login":"acme"},"html_url":"https://github.com/acme/w"},"sender":{"login":"mona","type":"User"}}`
	routesFile := writeFile(t, "r.yaml", "destinations:\n  console: {console: true}\n  audit: {http: \"${AUDIT_URL}\", secret: \"${AUDIT_SECRET}\"}\nroutes:\n  - {name: all, to: [console, audit]}\n")
	var out, errOut bytes.Buffer
	env := envOf(map[string]string{"AUDIT_URL": "https://audit.example/url-secret", "AUDIT_SECRET": "signing-secret-value"})
	if err := run(context.Background(), []string{"routes", "test", "--routes", routesFile, "--event", "issues", writeFile(t, "p.json", payload)}, &out, &errOut, env); err != nil {
		t.Fatalf("routes test: %v (%s)", err, errOut.String())
	}
	var reports []routeTestReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil || len(reports) != 1 {
		t.Fatalf("reports %v: %s", err, out.String())
	}
	var ce struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Data        struct {
			Kind string `json:"kind"`
		} `json:"data"`
	}
	if err := json.Unmarshal(reports[0].Messages["audit"], &ce); err != nil || ce.SpecVersion != "1.0" || ce.ID != reports[0].EventID || ce.Data.Kind != "issues.opened" {
		t.Errorf("audit message is not the CloudEvent: %s", reports[0].Messages["audit"])
	}
	if msg := string(reports[0].Messages["console"]); !strings.Contains(msg, `"blocks"`) {
		t.Errorf("console message is not the Slack message: %s", msg)
	}
	for _, secret := range []string{"url-secret", "signing-secret-value"} {
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("output shows %q", secret)
		}
	}
}

func TestRoutesTestDefaultsAndEventFromFileName(t *testing.T) {
	payload := writeFile(t, "issues-opened.json", `{"action":"opened","issue":{"number":1,"title":"t","html_url":"https://github.com/acme/w/issues/1","user":{"login":"mona"}},`+
		`"repository":{"name":"w","full_name":"acme/w","owner":{"login":"acme"},"html_url":"https://github.com/acme/w"},"sender":{"login":"mona","type":"User"}}`)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "console without a webhook", want: "console"},
		{name: "the default route to SLACK_WEBHOOK_URL", env: map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/secretpart"}, want: "slack"},
		{name: "GHNOTIFY_ROUTES", env: map[string]string{"GHNOTIFY_ROUTES": writeFile(t, "r.yaml", cliRoutes)}, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{"routes", "test", payload}, &out, &errOut, envOf(tt.env)); err != nil {
				t.Fatalf("routes test: %v (%s)", err, errOut.String())
			}
			var reports []routeTestReport
			if err := json.Unmarshal(out.Bytes(), &reports); err != nil || len(reports) != 1 {
				t.Fatalf("report %q: %v", out.String(), err)
			}
			if reports[0].Kind != "issues.opened" {
				t.Errorf("kind %q: the event was not taken from the file name", reports[0].Kind)
			}
			if tt.want != "" && (len(reports[0].Targets) != 1 || reports[0].Targets[0].Destination != tt.want) {
				t.Errorf("targets %+v, want %s", reports[0].Targets, tt.want)
			}
			if strings.Contains(out.String(), "secretpart") {
				t.Error("the webhook URL appeared in the report")
			}
			if strings.Contains(out.String(), `"Reason"`) || strings.Contains(out.String(), `"Route"`) {
				t.Errorf("capitalized JSON field names: %s", out.String())
			}
		})
	}
}

func TestRoutesCheckWarnsAboutUnknownEvents(t *testing.T) {
	file := writeFile(t, "typo.yaml", `destinations:
  eng: {console: true}
routes:
  - {name: prs, match: {kind: pull_requests.opened}, to: eng}
  - {name: fine, match: {kind: [pull_request.*, "issue*.opened"]}, to: eng}
`)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"routes", "check", file}, &out, &errOut, envOf(nil)); err != nil {
		t.Fatalf("routes check: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), `route prs: kind "pull_requests.opened" matches no known event`) {
		t.Errorf("no warning about pull_requests.opened: %q", errOut.String())
	}
	if strings.Contains(errOut.String(), "route fine") {
		t.Errorf("warned about valid kinds: %q", errOut.String())
	}
}
