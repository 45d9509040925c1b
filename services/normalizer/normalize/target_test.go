package normalize

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
)

// documentedEvents are the webhook event types GitHub documents. Every one
// has a hand-written fixture in testdata/fixtures.
var documentedEvents = []string{
	"branch_protection_configuration", "branch_protection_rule", "check_run", "check_suite", "code_scanning_alert",
	"commit_comment", "create", "custom_property", "custom_property_values", "delete", "dependabot_alert", "deploy_key",
	"deployment", "deployment_protection_rule", "deployment_review", "deployment_status", "discussion", "discussion_comment",
	"fork", "github_app_authorization", "gollum", "installation", "installation_repositories", "installation_target",
	"issue_comment", "issues", "label", "marketplace_purchase", "member", "membership", "merge_group", "meta", "milestone",
	"org_block", "organization", "package", "page_build", "personal_access_token_request", "ping", "project", "project_card",
	"project_column", "projects_v2", "projects_v2_item", "projects_v2_status_update", "public", "pull_request",
	"pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "push", "registry_package", "release",
	"repository", "repository_advisory", "repository_dispatch", "repository_import", "repository_ruleset",
	"repository_vulnerability_alert", "secret_scanning_alert", "secret_scanning_alert_location", "secret_scanning_scan",
	"security_advisory", "security_and_analysis", "sponsorship", "star", "status", "sub_issues", "team", "team_add", "watch",
	"workflow_dispatch", "workflow_job", "workflow_run",
}

// objectless lists the event types whose object is the repository, or the
// sender, itself: they have no target, and layouts link the repository.
var objectless = map[string]string{
	"push":                            "the ref of the repository; details carry ref, ref type, commits and the compare link",
	"star":                            "the repository starred",
	"watch":                           "the repository starred (GitHub sends watch for a star)",
	"public":                          "the repository made public",
	"repository":                      "the repository created, renamed, archived, ...",
	"repository_dispatch":             "a custom event sent to the repository",
	"repository_import":               "the repository imported",
	"page_build":                      "the repository's Pages site; details carry status and error",
	"ping":                            "the webhook being set up; its config may hold the receiver's address, so it is not copied",
	"github_app_authorization":        "the sender revoked their own authorization",
	"branch_protection_configuration": "the repository's branch protection as a whole",
	"security_and_analysis":           "the repository's security features; details list those changed",
	"custom_property_values":          "the repository's custom property values; details list those changed",
	"secret_scanning_scan":            "a scan of the repository",
}

// noURL lists the event types whose target GitHub gives no web page for.
var noURL = map[string]string{
	"delete":                        "the branch or tag no longer exists",
	"marketplace_purchase":          "the payload names the plan, not the listing's page",
	"project_column":                "classic project columns have no page; the payload holds only API URLs",
	"projects_v2_item":              "the payload names the item by node ids only",
	"projects_v2_status_update":     "the payload names the project by node id only",
	"custom_property":               "the payload has no page for an organization's property definitions",
	"personal_access_token_request": "the payload has no page for the request",
}

// noURLFiles lists single payloads whose target has no page.
var noURLFiles = map[string]string{
	"membership/removed.with-deleted-team.payload.json": "the team was deleted",
}

// noTitle lists the event types whose target GitHub does not name.
var noTitle = map[string]string{
	"projects_v2_item": "the payload names the item by node ids only; details carry its content type",
}

// TestTargets checks that every event names what it is about: for every
// fixture and every corpus payload, an event of a type with an object has
// a target with a title and a web URL, except where listed above with the
// reason, and an event of an objectless type has none.
func TestTargets(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, name, file, eventName string, body []byte) {
		t.Helper()
		ev := normalizeOne(t, delivery.Delivery{Event: eventName, ID: "target-" + name, ReceivedAt: received, Body: body})
		tg := ev.Data.Target
		if !slices.Contains(documentedEvents, eventName) {
			return // an unknown type's object may name nothing: see TestEdgeCases
		}
		if _, ok := objectless[eventName]; ok {
			if tg != nil {
				t.Errorf("%s: %s has a target %+v; objectless lists it", name, ev.Data.Kind, tg)
			}
			return
		}
		if tg == nil {
			t.Errorf("%s: %s has no target", name, ev.Data.Kind)
			return
		}
		if tg.Type == "" {
			t.Errorf("%s: target has no type", name)
		}
		if _, ok := noTitle[eventName]; !ok && tg.Title == "" {
			t.Errorf("%s: %s target %s has no title", name, ev.Data.Kind, tg.Type)
		}
		_, skipURL := noURL[eventName]
		_, skipFile := noURLFiles[file]
		switch {
		case tg.URL == "" && !skipURL && !skipFile:
			t.Errorf("%s: %s target %s %q has no URL", name, ev.Data.Kind, tg.Type, tg.Title)
		case tg.URL != "":
			if _, ok := webURL(tg.URL); !ok {
				t.Errorf("%s: target URL %q is not a web address", name, tg.URL)
			}
			if strings.Contains(tg.URL, "//api.") || strings.Contains(tg.URL, "/api/v3/") {
				t.Errorf("%s: target URL %q is an API address", name, tg.URL)
			}
		}
	}

	covered := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		d := fixture(t, name)
		covered[d.Event] = true
		check(t, name, "", d.Event, d.Body)
	}
	for _, e := range documentedEvents {
		if !covered[e] {
			t.Errorf("no fixture of the documented event %s", e)
		}
	}
	for _, m := range []map[string]string{objectless, noURL, noTitle} {
		for e := range m {
			if !slices.Contains(documentedEvents, e) {
				t.Errorf("exception for %s, which GitHub does not document", e)
			}
		}
	}

	t.Run("corpus", func(t *testing.T) {
		dir := corpus.Dir(t)
		for i, ent := range readIndex(t, dir) {
			body, err := os.ReadFile(filepath.Join(dir, ent.file))
			if err != nil {
				t.Fatal(err)
			}
			check(t, fmt.Sprintf("%s (%d)", ent.file, i), ent.file, ent.event, body)
		}
	})
}

// TestEdgeCases checks the synthetic fixtures for the cases layouts must
// get right.
func TestEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		check   func(t *testing.T, ev event.Event)
	}{
		{"push.sixty_commits", func(t *testing.T, ev event.Event) {
			d := det(&ev)
			if d.CommitCount != 60 || len(d.Commits) != maxCommits {
				t.Errorf("commit count %d with %d commits listed, want 60 with %d", d.CommitCount, len(d.Commits), maxCommits)
			}
			if len(d.Commits) > 0 && d.Commits[0].Message != "Step 1 of the migration" {
				t.Errorf("first listed commit %q, want the oldest", d.Commits[0].Message)
			}
			if d.RefType != "branch" || d.RefName != "migrate" || d.CompareURL == "" {
				t.Errorf("ref type %q name %q compare %q", d.RefType, d.RefName, d.CompareURL)
			}
		}},
		{"push.branch_deleted", func(t *testing.T, ev event.Event) {
			d := det(&ev)
			if !d.Deleted || d.Created || d.RefType != "branch" || d.RefName != "feature/old" || d.CommitCount != 0 || d.HeadCommit != nil {
				t.Errorf("details = %+v", d)
			}
		}},
		{"push.tag", func(t *testing.T, ev event.Event) {
			d := det(&ev)
			if !d.Created || d.RefType != "tag" || d.RefName != "v2.4.0" || d.CompareURL != "https://github.com/Acme/api/compare/v2.4.0" {
				t.Errorf("details = %+v", d)
			}
		}},
		{"deployment_status.old_style", func(t *testing.T, ev event.Event) {
			if ev.Data.Kind != "deployment_status.created" || ev.Data.Action != "" {
				t.Errorf("kind %q action %q, want deployment_status.created without an action", ev.Data.Kind, ev.Data.Action)
			}
			if d := det(&ev); d.Status != "failure" || d.Environment != "staging" {
				t.Errorf("details = %+v", d)
			}
		}},
		{"commit_comment.on_line", func(t *testing.T, ev event.Event) {
			d := det(&ev)
			if d.CommentBody != "Why `sleep` here?\n\nSee *retry*." || d.SHA != "c0ffee0000000000000000000000000000000001" ||
				d.CommentURL == "" || d.Path != "retry/retry.go" || d.Line != 12 {
				t.Errorf("details = %+v", d)
			}
			wantTarget(t, ev, "commit", "c0ffee0", "https://github.com/Acme/api/commit/c0ffee0000000000000000000000000000000001")
		}},
		{"secret_scanning_alert.resolved", func(t *testing.T, ev event.Event) {
			b, err := event.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "AKIAEXAMPLE") {
				t.Errorf("event carries the secret: %s", b)
			}
		}},
		{"future_event.named", func(t *testing.T, ev event.Event) {
			// The member named like the event is not an object: the first
			// other object is the one the event is about.
			wantTarget(t, ev, "widget", "Sprocket", "https://github.com/Acme/api/widgets/5")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			tt.check(t, normalizeOne(t, fixture(t, tt.fixture)))
		})
	}
}

func TestTargetURLIsAWebAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ event, body string }{
		{"milestone", `{"action":"created","milestone":{"number":1,"title":"v1","html_url":"javascript:alert(1)"}}`},
		{"issues", `{"action":"opened","issue":{"number":1,"title":"x","html_url":"data:text/html,x"}}`},
		{"gollum", `{"pages":[{"title":"Home","action":"edited","html_url":"javascript:x"}]}`},
		{"brand_new", `{"action":"x","brand_new":{"name":"n","html_url":"vbscript:x"}}`},
	} {
		ev := normalizeOne(t, delivery.Delivery{Event: tt.event, ID: "d", ReceivedAt: received, Body: []byte(tt.body)})
		if ev.Data.Target == nil || ev.Data.Target.Title == "" {
			t.Errorf("%s: target %+v, want one with its title", tt.event, ev.Data.Target)
			continue
		}
		if ev.Data.Target.URL != "" {
			t.Errorf("%s: target URL %q kept", tt.event, ev.Data.Target.URL)
		}
		for _, p := range det(&ev).Pages {
			if p.URL != "" {
				t.Errorf("%s: page URL %q kept", tt.event, p.URL)
			}
		}
	}
}

func TestJoinPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base     string
		segments []string
		want     string
	}{
		{"https://github.com/Acme/api", []string{"tree", "feature/x y"}, "https://github.com/Acme/api/tree/feature/x%20y"},
		{"https://github.com/Acme/api", []string{"labels", "bug?#"}, "https://github.com/Acme/api/labels/bug%3F%23"},
		{"https://github.com/Acme/api", []string{"tree", "../../evil"}, ""},
		{"https://github.com/Acme/api", []string{"commit", ""}, ""},
		{"javascript:alert(1)", []string{"x"}, ""},
		{"https://ghe.example.com/Acme/api/", []string{"settings", "keys"}, "https://ghe.example.com/Acme/api/settings/keys"},
	}
	for _, tt := range tests {
		if got := joinPage(tt.base, tt.segments...); got != tt.want {
			t.Errorf("joinPage(%q, %q) = %q, want %q", tt.base, tt.segments, got, tt.want)
		}
	}
}

func TestAPIToWeb(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://api.github.com/repos/Acme/api/issues/42":        "https://github.com/Acme/api/issues/42",
		"https://api.github.com/repos/Acme/api/pulls/7":          "https://github.com/Acme/api/pull/7",
		"https://ghe.example.com/api/v3/repos/Acme/api/issues/1": "https://ghe.example.com/Acme/api/issues/1",
		"https://api.github.com/projects/columns/1":              "",
		"https://example.com/repos/Acme/api/issues/1":            "",
		"not a url": "",
	}
	for in, want := range tests {
		if got := apiToWeb(in); got != want {
			t.Errorf("apiToWeb(%q) = %q, want %q", in, got, want)
		}
	}
}
