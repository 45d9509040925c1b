package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/slack-go/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func boolp(b bool) *bool { return &b }

func base(kind string) *event.Event {
	name, _, _ := strings.Cut(kind, ".")
	return &event.Event{SpecVersion: "1.0", ID: "d1/" + kind, Source: "https://github.com/acme/widgets", Type: event.Type(kind), Data: event.Data{
		Kind: kind, Event: name, DeliveryID: "d1",
		Repository: &event.Repository{Owner: "acme", Name: "widgets", FullName: "acme/widgets", URL: "https://github.com/acme/widgets", DefaultBranch: "main"},
		Actor:      event.Actor{Login: "octocat", URL: "https://github.com/octocat"},
	}}
}

func pr(kind string) *event.Event {
	e := base(kind)
	e.Data.Target = &event.Target{Type: "pull_request", Number: 42, Title: "Add <widgets> & gears", URL: "https://github.com/acme/widgets/pull/42",
		Body: "This adds widgets.\nSee #41.", Labels: []string{"enhancement"}, BaseBranch: "main", HeadBranch: "feature/widgets", Draft: boolp(false)}
	return e
}

func issue(kind string) *event.Event {
	e := base(kind)
	e.Data.Target = &event.Target{Type: "issue", Number: 7, Title: "Widgets break on Mondays", URL: "https://github.com/acme/widgets/issues/7", Body: "Steps:\n1. wait for Monday", Labels: []string{"bug"}}
	return e
}

func goldenEvents() map[string]*event.Event {
	m := map[string]*event.Event{
		"issue_opened":   issue("issues.opened"),
		"issue_closed":   issue("issues.closed"),
		"issue_reopened": issue("issues.reopened"),
		"pr_opened":      pr("pull_request.opened"),
		"pr_merged":      pr("pull_request.merged"),
		"pr_closed":      pr("pull_request.closed"),
		"pr_ready":       pr("pull_request.ready_for_review"),
	}
	rr := pr("pull_request.review_requested")
	rr.Data.Details = &event.Details{RequestedReviewers: []string{"hubot"}, RequestedTeams: []string{"core"}}
	m["pr_review_requested"] = rr
	rv := pr("pull_request_review.submitted")
	rv.Data.Details = &event.Details{ReviewState: "approved", ReviewURL: "https://github.com/acme/widgets/pull/42#pullrequestreview-1", CommentBody: "Looks good."}
	m["review_submitted"] = rv
	cm := issue("issue_comment.created")
	cm.Data.Details = &event.Details{CommentBody: "Same here, on Tuesdays too.", CommentURL: "https://github.com/acme/widgets/issues/7#issuecomment-1"}
	m["comment"] = cm
	push := base("push.pushed")
	push.Data.Details = &event.Details{Ref: "refs/heads/main", CommitCount: 2, CompareURL: "https://github.com/acme/widgets/compare/a...b",
		Commits: []event.Commit{
			{ID: "1111111aaaa", Message: "Fix gears\n\nLong text", URL: "https://github.com/acme/widgets/commit/1111111aaaa", Author: "Mona"},
			{ID: "2222222bbbb", Message: "Bump version", URL: "https://github.com/acme/widgets/commit/2222222bbbb", Author: "Hubot"},
		}}
	m["push_default_branch"] = push
	rel := base("release.published")
	rel.Data.Target = &event.Target{Type: "release", Title: "v1.2.0", URL: "https://github.com/acme/widgets/releases/tag/v1.2.0", Body: "Faster widgets."}
	rel.Data.Details = &event.Details{TagName: "v1.2.0"}
	m["release_published"] = rel
	wf := base("workflow_run.completed")
	wf.Data.Target = &event.Target{Type: "workflow_run", Title: "CI", URL: "https://github.com/acme/widgets/actions/runs/1", HeadBranch: "main"}
	wf.Data.Details = &event.Details{WorkflowName: "CI", Conclusion: "failure", SHA: "abcdef0123456789"}
	m["workflow_failed"] = wf
	star := base("star.created")
	star.Data.Details = &event.Details{StarCount: 101}
	m["star"] = star
	fork := base("fork.created")
	fork.Data.Details = &event.Details{ForkName: "mona/widgets", ForkURL: "https://github.com/mona/widgets"}
	m["fork"] = fork
	m["watch"] = base("watch.started")
	lab := pr("pull_request.labeled")
	lab.Data.Details = &event.Details{Label: "enhancement"}
	m["generic"] = lab
	return m
}

func TestGolden(t *testing.T) {
	layoutsSeen := map[string]bool{}
	for name, e := range goldenEvents() {
		t.Run(name, func(t *testing.T) {
			m := Render(e)
			layoutsSeen[m.Layout] = true
			got, err := m.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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
				t.Errorf("%s differs from %s:\n%s", name, path, got)
			}
			checkLimits(t, m)
		})
	}
	for name := range layoutFuncs {
		if !layoutsSeen[name] {
			t.Errorf("layout %s has no golden file", name)
		}
	}
}

func TestLayoutFallsBackToGeneric(t *testing.T) {
	push := base("push.pushed")
	push.Data.Details = &event.Details{Ref: "refs/heads/feature"}
	wf := base("workflow_run.completed")
	wf.Data.Details = &event.Details{Conclusion: "success"}
	for _, e := range []*event.Event{push, wf} {
		if m := Render(e); m.Layout != "generic" {
			t.Errorf("%s rendered with %s, want generic", e.Data.Kind, m.Layout)
		}
	}
}

// checkLimits asserts Slack's limits on a rendered message.
func checkLimits(t *testing.T, m Message) {
	t.Helper()
	if n := len(m.Blocks.BlockSet); n > MaxBlocks {
		t.Errorf("%d blocks", n)
	}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if b.Text.Type != slack.PlainTextType || utf8.RuneCountInString(b.Text.Text) > MaxHeaderText {
				t.Errorf("header %q breaks the limits", b.Text.Text)
			}
			if strings.TrimSpace(b.Text.Text) == "" {
				t.Error("empty header")
			}
		case *slack.SectionBlock:
			if b.Text != nil {
				if n := utf8.RuneCountInString(b.Text.Text); n > MaxSectionText || strings.TrimSpace(b.Text.Text) == "" {
					t.Errorf("section of %d characters", n)
				}
			}
			if len(b.Fields) > MaxFields {
				t.Errorf("%d fields", len(b.Fields))
			}
			for _, f := range b.Fields {
				if n := utf8.RuneCountInString(f.Text); n > MaxFieldText {
					t.Errorf("field of %d characters", n)
				}
			}
		case *slack.ContextBlock:
			if len(b.ContextElements.Elements) > MaxContextElements {
				t.Errorf("%d context elements", len(b.ContextElements.Elements))
			}
			for _, el := range b.ContextElements.Elements {
				if txt, ok := el.(*slack.TextBlockObject); ok && utf8.RuneCountInString(txt.Text) > MaxSectionText {
					t.Errorf("context element of %d characters", utf8.RuneCountInString(txt.Text))
				}
			}
		default:
			t.Errorf("unexpected block %T", b)
		}
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("<&>", 5000)
	e := pr("pull_request.opened")
	e.Data.Target.Title, e.Data.Target.Body = long, long
	push := base("push.pushed")
	push.Data.Details = &event.Details{Ref: "refs/heads/main"}
	for i := 0; i < 2000; i++ {
		push.Data.Details.Commits = append(push.Data.Details.Commits, event.Commit{ID: strings.Repeat("a", 40), Message: long, URL: "https://github.com/x"})
	}
	for _, ev := range []*event.Event{e, push} {
		m := Render(ev)
		checkLimits(t, m)
		if !strings.Contains(allText(m), Ellipsis) {
			t.Errorf("%s: long text not cut with an ellipsis", ev.Data.Kind)
		}
	}
}

// giantEvent is an event of kind whose every text and list is far beyond
// Slack's limits: text of n copies of s, lists of up to 100 items (TestLimits covers the block limit with thousands of commits).
func giantEvent(kind, s string, n int) *event.Event {
	long := strings.Repeat(s, n)
	items := min(n, 100)
	e := fuzzEvent(kind, long)
	e.Data.Repository.DefaultBranch = "main"
	e.Data.Details.Ref = "refs/heads/main"
	many := func(prefix string) []string {
		out := make([]string, items)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d-%s", prefix, i, s)
		}
		return out
	}
	e.Data.Target.Labels = append(many("label"), long)
	e.Data.Details.RequestedReviewers = append(many("reviewer"), long)
	e.Data.Details.RequestedTeams = append(many("team"), long)
	e.Data.Details.Commits = nil
	for i := 0; i < items; i++ {
		e.Data.Details.Commits = append(e.Data.Details.Commits, event.Commit{ID: fmt.Sprintf("%040d", i), Message: long, Author: long, URL: "https://github.com/c/" + long})
	}
	e.Data.Details.CommitCount = n
	e.Data.Details.CompareURL = "https://github.com/" + long
	e.Data.Target.URL = "https://github.com/" + long
	e.Data.Actor.URL = "https://github.com/" + long
	return e
}

// TestLimitsForGiantInputs renders every layout from giant titles, bodies,
// label, reviewer and commit lists: the message stays within Slack's
// limits and what was cut ends with an ellipsis.
func TestLimitsForGiantInputs(t *testing.T) {
	kinds := []string{"issues.opened", "issues.closed", "pull_request.opened", "pull_request.merged", "pull_request.review_requested",
		"pull_request_review.submitted", "issue_comment.created", "push.pushed", "release.published", "workflow_run.completed",
		"star.created", "fork.created", "watch.started", "pull_request.labeled", "deployment_status.created"}
	inputs := []struct {
		s string
		n int
	}{{"x", 10000}, {"<&>", 3000}, {"日本", 5000}, {"word ", 4000}, {"line\n", 3000}, {"🙂", 6000}, {"a", 1}}
	layouts := map[string]bool{}
	for _, k := range kinds {
		for _, in := range inputs {
			m := Render(giantEvent(k, in.s, in.n))
			layouts[m.Layout] = true
			checkLimits(t, m)
			if in.n > 1 && !strings.Contains(allText(m), Ellipsis) {
				t.Errorf("%s with %d × %q: nothing cut with an ellipsis", k, in.n, in.s)
			}
			if utf8.RuneCountInString(m.Text) > MaxFallbackText || m.Text == "" {
				t.Errorf("%s: fallback text of %d characters", k, utf8.RuneCountInString(m.Text))
			}
		}
	}
	for name := range layoutFuncs {
		if !layouts[name] {
			t.Errorf("layout %s not exercised", name)
		}
	}
}

// FuzzLimits checks Slack's limits for any text repeated any number of times.
func FuzzLimits(f *testing.F) {
	f.Add("<!channel>", uint16(2000))
	f.Add("\n", uint16(5000))
	f.Add("", uint16(0))
	kinds := []string{"issues.opened", "pull_request.review_requested", "push.pushed", "release.published", "pull_request.labeled"}
	f.Fuzz(func(t *testing.T, s string, n uint16) {
		for _, k := range kinds {
			checkLimits(t, Render(giantEvent(k, s, int(n%3000))))
		}
	})
}

func TestFit(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a<b", 10, "a&lt;b"},
		{"abcdef", 4, "abc…"},
		{"ab&cd", 4, "ab…"},
		{"ab&cd", 8, "ab&amp;…"},
		{"héllo", 5, "héllo"},
	}
	for _, tc := range tests {
		if got := Fit(tc.in, tc.n); got != tc.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// allText returns every text of a rendered message.
func allText(m Message) string {
	b, _ := json.Marshal(m)
	var v any
	_ = json.Unmarshal(b, &v)
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				if s, ok := v.(string); ok && k == "text" {
					out = append(out, s)
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

func fuzzEvent(kind, s string) *event.Event {
	e := pr(kind)
	e.Data.Actor.Login = s
	e.Data.Repository.FullName = s
	e.Data.Target.Title, e.Data.Target.Body = s, s
	e.Data.Target.Labels = []string{s}
	e.Data.Target.HeadBranch, e.Data.Target.BaseBranch = s, s
	e.Data.Details = &event.Details{CommentBody: s, RequestedReviewers: []string{s}, RequestedTeams: []string{s}, ReviewState: s,
		Ref: "refs/heads/main", Label: s, TagName: s, WorkflowName: s, Conclusion: "failure", Description: s, ForkName: s, SHA: s + "0000000",
		Commits: []event.Commit{{ID: s, Message: s, Author: s, URL: "https://github.com/c"}}}
	return e
}

// FuzzNoMentionOrLink checks that no text from GitHub yields a broadcast
// mention or a link: the rendered message holds exactly as many '<' and
// '>' as the same event with every '<' and '>' replaced, and no "<!".
func FuzzNoMentionOrLink(f *testing.F) {
	for _, s := range []string{"<!channel> deploy now", "<https://evil.example|click>", "<!here>", "<!everyone>", "<!subteam^S123>", "&lt;!channel&gt;", "<@U123>", "a|b>c", strings.Repeat("<", 200)} {
		f.Add(s)
	}
	kinds := []string{"issues.opened", "pull_request.opened", "pull_request.review_requested", "pull_request_review.submitted", "issue_comment.created",
		"push.pushed", "release.published", "workflow_run.completed", "star.created", "fork.created", "watch.started", "pull_request.labeled"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range kinds {
			got := allText(Render(fuzzEvent(k, s)))
			harmless := strings.Map(func(r rune) rune {
				if r == '<' || r == '>' {
					return 'a'
				}
				return r
			}, s)
			ref := allText(Render(fuzzEvent(k, harmless)))
			for _, bad := range []string{"<!", "<@", "<#"} {
				if strings.Contains(got, bad) {
					t.Fatalf("%s: %q produced %q in %q", k, s, bad, got)
				}
			}
			if strings.Count(got, "<") != strings.Count(ref, "<") || strings.Count(got, ">") != strings.Count(ref, ">") {
				t.Fatalf("%s: %q changed the number of links:\n%s\nvs\n%s", k, s, got, ref)
			}
		}
	})
}

func TestSafeURL(t *testing.T) {
	tests := map[string]string{
		"https://github.com/a/b?x=1&y=2": "https://github.com/a/b?x=1&amp;y=2",
		"https://x.example/a|b>c":        "https://x.example/a%7Cb%3Ec",
		"javascript:alert(1)":            "",
		"/relative":                      "",
	}
	for in, want := range tests {
		if got := safeURL(in); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
