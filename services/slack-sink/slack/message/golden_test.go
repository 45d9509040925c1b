package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/slack-go/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Golden is one golden file: a rendered message and what it shows. The
// gallery (docs/messages.md) is generated from these files.
type Golden struct {
	// Case names the golden: the kind for corpus payloads, a
	// description for the cases written here.
	Case   string `json:"case"`
	Kind   string `json:"kind"`
	Layout string `json:"layout"`
	// Source is the corpus payload's path, or "synthetic".
	Source  string  `json:"source"`
	Message Message `json:"message"`
}

// goldenDirs hold the goldens of corpus payloads (one per kind) and of
// the synthetic cases.
const (
	fixtureGoldens = "testdata/golden/fixtures"
	caseGoldens    = "testdata/golden/cases"
)

func encodeGolden(g Golden) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkGolden compares (or with -update writes) the golden file of g.
func checkGolden(t *testing.T, dir string, g Golden) {
	t.Helper()
	got, err := encodeGolden(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, g.Case+".json")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", g.Case, path, got)
	}
}

// checkNoStale fails for golden files no case wrote.
func checkNoStale(t *testing.T, dir string, cases map[string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if cases[name] {
			continue
		}
		if *update {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("golden file %s belongs to no case (run go test -update to remove it)", f)
	}
}

// corpusEvent is one corpus payload, normalized.
type corpusEvent struct {
	file string
	ev   *event.Event
}

// corpusEvents normalizes every payload of the corpus beside the
// checkout (skipping the test when it is absent).
func corpusEvents(t *testing.T) []corpusEvent {
	t.Helper()
	dir := corpus.Dir(t)
	var out []corpusEvent
	for _, e := range corpus.Entries(t, dir) {
		body, err := os.ReadFile(filepath.Join(dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := normalize.Normalize(delivery.Delivery{Event: e.Event, ID: "corpus", Body: body, ReceivedAt: time.Unix(0, 0).UTC()})
		if err != nil {
			t.Errorf("%s: normalizing: %v", e.File, err)
			continue
		}
		for i := range evs {
			out = append(out, corpusEvent{file: e.File, ev: &evs[i]})
		}
	}
	return out
}

// fixtureEvents normalizes the normalizer's own fixtures, payloads
// written for this repository, so a clone alone covers them.
func fixtureEvents(t *testing.T) []corpusEvent {
	t.Helper()
	dir := filepath.Join(corpus.RepoRoot(t), "services", "normalizer", "normalize", "testdata", "fixtures")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	var out []corpusEvent
	for _, f := range files {
		name, _, _ := strings.Cut(filepath.Base(f), ".")
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := normalize.Normalize(delivery.Delivery{Event: name, ID: "fixture", Body: body, ReceivedAt: time.Unix(0, 0).UTC()})
		if err != nil {
			t.Errorf("%s: normalizing: %v", f, err)
			continue
		}
		for i := range evs {
			out = append(out, corpusEvent{file: filepath.Base(f), ev: &evs[i]})
		}
	}
	return out
}

// TestGoldenFixtures renders the first of the normalizer's own fixtures of
// every kind and compares it with its golden file. The goldens come from
// the repository's fixtures, never from the payload corpus, whose text is
// not the project's; the corpus is checked by TestCorpusEveryPayloadRenders.
func TestGoldenFixtures(t *testing.T) {
	cases := map[string]bool{}
	for _, ce := range fixtureEvents(t) {
		kind := ce.ev.Data.Kind
		if cases[kind] {
			continue
		}
		cases[kind] = true
		t.Run(kind, func(t *testing.T) {
			m := Render(ce.ev)
			checkGolden(t, fixtureGoldens, Golden{Case: kind, Kind: kind, Layout: m.Layout, Source: ce.file, Message: m})
		})
	}
	checkNoStale(t, fixtureGoldens, cases)
}

// TestGoldenCases renders the synthetic cases: kinds the corpus lacks
// and the edge cases.
func TestGoldenCases(t *testing.T) {
	cases := map[string]bool{}
	for _, c := range syntheticCases() {
		cases[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			m := RenderWith(c.ev, c.opts)
			checkMessage(t, c.ev, m)
			checkGolden(t, caseGoldens, Golden{Case: c.name, Kind: c.ev.Data.Kind, Layout: m.Layout, Source: "synthetic", Message: m})
		})
	}
	checkNoStale(t, caseGoldens, cases)
}

// TestEveryLayoutHasAGolden: every event with a layout, and the generic
// layout, is shown by at least one golden file (and so in the gallery).
func TestEveryLayoutHasAGolden(t *testing.T) {
	shown := map[string]bool{}
	for _, dir := range []string{fixtureGoldens, caseGoldens} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var g struct{ Layout string }
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			shown[g.Layout] = true
		}
	}
	for _, name := range append(SpecEvents(), Generic) {
		if !shown[name] {
			t.Errorf("layout %s has no golden file", name)
		}
	}
}

// githubEvents are the events of GitHub's webhook documentation
// (docs.github.com, "Webhook events and payloads").
var githubEvents = []string{
	"branch_protection_configuration", "branch_protection_rule", "check_run", "check_suite", "code_scanning_alert",
	"commit_comment", "create", "custom_property", "custom_property_values", "delete", "dependabot_alert", "deploy_key",
	"deployment", "deployment_protection_rule", "deployment_review", "deployment_status", "discussion", "discussion_comment",
	"fork", "github_app_authorization", "gollum", "installation", "installation_repositories", "installation_target",
	"issue_comment", "issue_dependencies", "issues", "label", "marketplace_purchase", "member", "membership", "merge_group",
	"meta", "milestone", "org_block", "organization", "package", "page_build", "personal_access_token_request", "ping",
	"project", "project_card", "project_column", "projects_v2", "projects_v2_item", "projects_v2_status_update", "public",
	"pull_request", "pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "push",
	"registry_package", "release", "repository", "repository_advisory", "repository_dispatch", "repository_import",
	"repository_ruleset", "repository_vulnerability_alert", "secret_scanning_alert", "secret_scanning_alert_location",
	"secret_scanning_scan", "security_advisory", "security_and_analysis", "sponsorship", "star", "status", "sub_issues",
	"team", "team_add", "watch", "workflow_dispatch", "workflow_job", "workflow_run",
}

func TestEveryGitHubEventHasALayout(t *testing.T) {
	for _, name := range githubEvents {
		if _, ok := specs[name]; !ok {
			t.Errorf("GitHub event %s has no layout", name)
		}
	}
	if len(SpecEvents()) != len(githubEvents) {
		t.Errorf("%d layouts for %d documented events: %v", len(SpecEvents()), len(githubEvents), SpecEvents())
	}
}

// TestCorpusEveryPayloadRenders renders every corpus payload and every
// fixture of the repository: within Slack's limits, never generic for an
// event with a layout, a short notification, the title once, a link.
func TestCorpusEveryPayloadRenders(t *testing.T) {
	all := fixtureEvents(t)
	if _, err := os.Stat(filepath.Join(corpus.RepoRoot(t), "..", "shared", "testdata", "github-webhooks", "INDEX.tsv")); err == nil || os.Getenv("CI") != "" {
		all = append(all, corpusEvents(t)...)
	}
	for _, ce := range all {
		m := Render(ce.ev)
		name := ce.file + " (" + ce.ev.Data.Kind + ")"
		if _, ok := specs[ce.ev.Data.Event]; ok && m.Layout == Generic {
			t.Errorf("%s: generic layout though %s has one", name, ce.ev.Data.Event)
		}
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) { checkMessage(t, ce.ev, m) })
	}
}

var placeholderLeft = regexp.MustCompile(`\{[A-Za-z]+(\|[^}]*)?\}`)

// checkMessage asserts what every message must be: within Slack's
// limits, a header that says what happened without "Create created",
// a notification text of at most MaxNotificationText, a title shown
// once, a link when the event has a web page, no control characters.
func checkMessage(t *testing.T, ev *event.Event, m Message) {
	t.Helper()
	checkLimits(t, m)
	head := headerOf(m)
	if head == "" {
		t.Errorf("no header")
	}
	// No "Create created", "Public published", "Team add added".
	name, verb, _ := strings.Cut(ev.Data.Kind, ".")
	words := strings.Fields(humanize(name))
	if last := words[len(words)-1]; len(last) >= 3 && strings.HasPrefix(verb, last[:min(4, len(last))]) {
		if bad := capitalize(humanize(name)) + " " + humanize(verb); strings.Contains(strings.ToLower(head), strings.ToLower(bad)) {
			t.Errorf("header %q reads %q", head, bad)
		}
	}
	raw, _ := json.Marshal(ev)
	if p := placeholderLeft.FindString(head); p != "" && !strings.Contains(string(raw), p) {
		t.Errorf("header %q has placeholder %s left", head, p)
	}
	if n := Len(m.Text); n > MaxNotificationText || strings.TrimSpace(m.Text) == "" {
		t.Errorf("notification text of %d units: %q", n, m.Text)
	}
	texts := allText(m)
	if i := strings.IndexFunc(texts, func(r rune) bool { return r != '\n' && UnsafeRune(r) }); i >= 0 {
		t.Errorf("control or bidi character %q in %q", texts[i:i+1], texts)
	}
	if tg := ev.Data.Target; tg != nil && Len(tg.Title) >= 12 {
		shown := strings.Join(append([]string{head}, mrkdwnTexts(m)[1:]...), "\n")
		if n := len(wholeWords(Text(tg.Title, 3000)).FindAllString(shown, -1)); n > 1 {
			t.Errorf("title %q shown %d times:\n%s", tg.Title, n, shown)
		}
	}
	if hasWebPage(ev) && !strings.Contains(texts, "<http") {
		t.Errorf("no link, though the event has a web page:\n%s", texts)
	}
}

// wholeWords matches s where it is not part of a login, a path or a
// longer word.
func wholeWords(s string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^@/\w-])` + regexp.QuoteMeta(s) + `($|[^\w-])`)
}

// hasWebPage reports whether the event names any safe web page.
func hasWebPage(ev *event.Event) bool {
	d := ev.Data
	if d.Target != nil && safeURL(d.Target.URL) != "" {
		return true
	}
	return d.Repository != nil && safeURL(d.Repository.URL) != ""
}

func headerOf(m Message) string {
	for _, b := range m.Blocks.BlockSet {
		if h, ok := b.(*slack.HeaderBlock); ok && h.Text != nil {
			return h.Text.Text
		}
	}
	return ""
}

// sortedKeys is for stable iteration in tests.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
