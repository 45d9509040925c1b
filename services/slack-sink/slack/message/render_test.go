package message

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/rivo/uniseg"
	"github.com/slack-go/slack"
)

// checkLimits asserts Slack's limits on a rendered message, counted as
// Slack counts (UTF-16 units).
func checkLimits(t *testing.T, m Message) {
	t.Helper()
	if n := len(m.Blocks.BlockSet); n > MaxBlocks || n == 0 {
		t.Errorf("%d blocks", n)
	}
	if n := Len(m.Text); n > MaxFallbackText {
		t.Errorf("text of %d units", n)
	}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if b.Text.Type != slack.PlainTextType || Len(b.Text.Text) > MaxHeaderText {
				t.Errorf("header %q breaks the limits (%d units)", b.Text.Text, Len(b.Text.Text))
			}
			if strings.TrimSpace(b.Text.Text) == "" {
				t.Error("empty header")
			}
		case *slack.SectionBlock:
			if b.Text != nil {
				if n := Len(b.Text.Text); n > MaxSectionText || strings.TrimSpace(b.Text.Text) == "" {
					t.Errorf("section of %d units", n)
				}
				if !b.Text.Verbatim {
					t.Errorf("section %q is not verbatim: Slack would link bare URLs and #channels of GitHub's text", b.Text.Text)
				}
			}
			if len(b.Fields) > MaxFields {
				t.Errorf("%d fields", len(b.Fields))
			}
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n > MaxContextElements || n == 0 {
				t.Errorf("%d context elements", n)
			}
			for _, el := range b.ContextElements.Elements {
				if txt, ok := el.(*slack.TextBlockObject); ok && (Len(txt.Text) > MaxSectionText || !txt.Verbatim) {
					t.Errorf("context element of %d units, verbatim %v", Len(txt.Text), txt.Verbatim)
				}
			}
		default:
			t.Errorf("unexpected block %T", b)
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
			for _, k := range sortedKeys(keysOf(x)) {
				if s, ok := x[k].(string); ok && k == "text" {
					out = append(out, s)
				}
				walk(x[k])
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

func keysOf(m map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// TestEdgeCases checks what the golden files of the edge cases show.
func TestEdgeCases(t *testing.T) {
	byName := map[string]synthCase{}
	for _, c := range syntheticCases() {
		byName[c.name] = c
	}
	render := func(name string) (Message, string) {
		c, ok := byName[name]
		if !ok {
			t.Fatalf("no case %s", name)
		}
		m := RenderWith(c.ev, c.opts)
		return m, allText(m)
	}
	tests := []struct {
		name      string
		want      []string
		wantNot   []string
		wantTitle string
	}{
		{name: "push.deleted_branch", want: []string{"Branch feature/old deleted by @octocat", "was at"}, wantNot: []string{"Compare"}},
		{name: "push.tag", want: []string{"Tag v1.2.0 pushed", "releases/tag/v1.2.0", "Compare changes"}},
		{name: "push.new_branch_with_commits", want: []string{"Branch feature/gears created with 2 commits", "Change 2"}},
		{name: "push.forced", want: []string{"Force-pushed 1 commit to feature/widgets"}},
		{name: "push.60_commits", want: []string{"60 commits pushed to main", "Change 20", "_and 40 more_"}, wantNot: []string{"Change 21"}},
		{name: "pull_request.opened.200_labels", want: []string{"`area/010`", "and 190 more"}, wantNot: []string{"area/011"}},
		{name: "issues.opened.5000_char_title", want: []string{Ellipsis}},
		{name: "issues.opened.control_and_bidi", want: []string{`invoice\u202egnp.exe`, `\x1b[31mred`, `\x00nul`, `\u2066isolate\u2069`, "line one\n"}},
		{name: "pull_request.opened.formatting_characters", want: []string{"∗bold∗", "＿italic＿", "∼strike∼", "ˋcodeˋ", "my_snake_case", "&lt;!channel&gt;"}},
		{name: "generic.unknown_kind", want: []string{"Agent session summoned by @octocat", "Review of #42", "agents/1"}},
		{name: "dependabot_alert.created.critical", want: []string{"Critical: Dependabot alert created for lodash", "GHSA-jf85-cpcp-j695", "CVE-2019-10744", "`&lt; 4.17.12`", "fixed in `4.17.12`", "security/dependabot/4"}},
		{name: "code_scanning_alert.created.high", want: []string{"High: Code scanning alert created: js/sql-injection", "CodeQL", "src/db.js"}},
		{name: "workflow_run.completed.failure", want: []string{":x: Failed: workflow CI on main", "#42"}},
		{name: "deployment_status.created.failure", want: []string{":x: Failed: deployment to production on main", "Health check failed"}},
		{name: "status.updated.failure", want: []string{":x: Failed: ci/circleci on commit abcdef0", "Your tests failed on CircleCI", "circleci.example"}},
		{name: "check_run.completed.timed_out", want: []string{":x: Timed out: check run integration tests on feature/widgets"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, text := render(tc.name)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("message lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("message has %q:\n%s", w, text)
				}
			}
			checkMessage(t, byName[tc.name].ev, m)
		})
	}
}

// TestHeaderKeepsGraphemesWhole: a cut never splits an emoji sequence or
// a flag, and the result fits the limit in UTF-16 units.
func TestHeaderKeepsGraphemesWhole(t *testing.T) {
	family, flag := "👨‍👩‍👧‍👦", "🇫🇷"
	for pad := 100; pad <= 150; pad++ {
		s := strings.Repeat("x", pad) + family + flag + strings.Repeat("y", 40)
		got := Fit(s, MaxHeaderText)
		if Len(got) > MaxHeaderText {
			t.Fatalf("pad %d: %d units", pad, Len(got))
		}
		g := uniseg.NewGraphemes(got)
		for g.Next() {
			c := g.Str()
			if strings.ContainsRune(c, '\u200d') && c != family {
				t.Fatalf("pad %d: split family emoji %q", pad, c)
			}
			if strings.ContainsRune(c, '🇫') && c != flag {
				t.Fatalf("pad %d: split flag %q", pad, c)
			}
		}
	}
}

// TestNotificationKeepsEmojiWhole: the emoji straddling the
// notification's limit is left out whole.
func TestNotificationKeepsEmojiWhole(t *testing.T) {
	for _, c := range syntheticCases() {
		if c.name != "issues.opened.emoji_at_limit" {
			continue
		}
		m := RenderWith(c.ev, c.opts)
		if !strings.HasSuffix(m.Text, "x"+Ellipsis) || strings.ContainsRune(m.Text, '\u200d') || Len(m.Text) > MaxNotificationText {
			t.Errorf("notification %q (%d units)", m.Text, Len(m.Text))
		}
		return
	}
	t.Fatal("no emoji case")
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
		{"🙂🙂🙂", 5, "🙂🙂…"},
		{"🙂🙂🙂", 4, "🙂…"},
		{"a\u202eb\x1bc", 40, `a\u202eb\x1bc`},
		{"two\nlines", 20, "two lines"},
	}
	for _, tc := range tests {
		if got := Fit(tc.in, tc.n); got != tc.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := map[string]string{
		"*bold*":          "∗bold∗",
		"_it_ and a_b_c":  "＿it＿ and a_b_c",
		"~x~ `y`":         "∼x∼ ˋyˋ",
		"__init__.py":     "＿＿init＿＿.py",
		"snake_case_name": "snake_case_name",
		"<@U1> & <!here>": "&lt;@U1&gt; &amp; &lt;!here&gt;",
	}
	for in, want := range tests {
		if got := Text(in, 100); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	if got := code("a`b*c_", 100); got != "`aˋb*c_`" {
		t.Errorf("code = %q", got)
	}
}

func TestLen(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "é": 1, "🙂": 2, "👨‍👩‍👧‍👦": 11, "日本": 2} {
		if got := Len(s); got != want {
			t.Errorf("Len(%q) = %d, want %d", s, got, want)
		}
	}
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

// TestMentions: reviewers, teams and assignees are mentioned when the
// people map knows them, others stay plain @login, a route adds its
// own, and nothing in the payload's text ever mentions anyone.
func TestMentions(t *testing.T) {
	byName := map[string]synthCase{}
	for _, c := range syntheticCases() {
		byName[c.name] = c
	}
	tests := []struct {
		name       string
		want       []string
		wantNot    []string
		textPrefix string
	}{
		{name: "pull_request.review_requested.mentions", want: []string{"Reviewers: <@U0ALICE01>, @carol", "<!subteam^S0CORE001>", "@acme/docs", "Ping @alice and &lt;@U0ALICE01&gt;"},
			textPrefix: "<@U0ALICE01> <!subteam^S0CORE001> "},
		{name: "issues.assigned.mention", want: []string{"Assignee: <@W0BOB0001>", "Issue #7 assigned to @bob"}, textPrefix: "<@W0BOB0001> "},
		{name: "pull_request.review_requested.unmapped", want: []string{"Reviewers: @dave"}, wantNot: []string{"<@", "<!"}},
		{name: "pull_request_review.dismissed.mention", want: []string{"Review by @alice dismissed on pull request #42 by @octocat", "Reviewer: <@U0ALICE01>"}, textPrefix: "<@U0ALICE01> "},
		{name: "workflow_run.completed.route_mention", want: []string{"cc <!subteam^S0ONCALL1> <@U0ALICE01>"}, textPrefix: "<!subteam^S0ONCALL1> <@U0ALICE01> "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := byName[tc.name]
			m := RenderWith(c.ev, c.opts)
			text := allText(m)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("message lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("message has %q:\n%s", w, text)
				}
			}
			if tc.textPrefix != "" && !strings.HasPrefix(m.Text, tc.textPrefix) {
				t.Errorf("notification %q does not start with %q", m.Text, tc.textPrefix)
			}
			if Len(m.Text) > MaxNotificationText {
				t.Errorf("notification of %d units", Len(m.Text))
			}
			// Without the people map and the route, nobody is mentioned.
			bare := allText(Render(c.ev))
			for _, bad := range []string{"<@", "<!", "<#"} {
				if strings.Contains(bare, bad) {
					t.Errorf("rendered without people, the message still holds %q:\n%s", bad, bare)
				}
			}
		})
	}
	// Configured IDs that are not Slack IDs mention nobody.
	rr := pr("pull_request.review_requested")
	rr.Data.Details.RequestedReviewers = []string{"eve"}
	bad := testPeople{users: map[string]string{"eve": "<!channel>"}}
	if text := allText(RenderWith(rr, Options{People: bad, Mention: []string{"here", "<!everyone>", "u123"}})); strings.Contains(text, "<!") || strings.Contains(text, "<@") {
		t.Errorf("malformed IDs made a mention:\n%s", text)
	}
}

// representative are kinds covering every layout, for the fuzz tests.
func representative() []string {
	kinds := []string{"pull_request.review_requested", "pull_request.assigned", "pull_request.labeled", "pull_request.synchronize",
		"issues.opened", "push.pushed", "create.created", "delete.deleted", "fork.created", "code_review_agent.summoned"}
	verbs := map[string]string{
		"workflow_run": "completed", "workflow_job": "completed", "check_run": "completed", "check_suite": "completed",
		"deployment_status": "created", "status": "updated", "dependabot_alert": "created", "code_scanning_alert": "created",
		"secret_scanning_alert": "created", "pull_request_review": "submitted", "member": "added", "membership": "added",
		"organization": "member_invited", "org_block": "blocked", "team": "added_to_repository", "deployment_review": "requested",
		"installation_repositories": "added", "sub_issues": "sub_issue_added", "sponsorship": "created", "merge_group": "destroyed",
	}
	for _, name := range SpecEvents() {
		v, ok := verbs[name]
		if !ok {
			v = "created"
		}
		kinds = append(kinds, name+"."+v)
	}
	return kinds
}

// fuzzEvent is an event of kind whose every string from GitHub is s.
func fuzzEvent(kind, s string) *event.Event {
	e := pr(kind)
	name, _, _ := strings.Cut(kind, ".")
	e.Data.Event = name
	e.Data.Actor.Login = s
	e.Data.Repository.FullName = s
	e.Data.Organization = s
	t := e.Data.Target
	t.Title, t.Body, t.Labels, t.HeadBranch, t.BaseBranch, t.Type = s, s, []string{s, s}, s, s, s
	e.Data.Details = &event.Details{CommentBody: s, RequestedReviewers: []string{s, "alice"}, RequestedTeams: []string{s, "core"}, ReviewState: s,
		Ref: "refs/heads/" + s, RefName: s, Label: s, Milestone: s, TagName: s, WorkflowName: s, Conclusion: s, Status: s, Description: s,
		ForkName: s, SHA: s + "0000000", Environment: s, Context: s, Trigger: s, Member: s, Permission: s, Role: s, Team: s,
		Invitee: s, BlockedUser: s, Account: s, Previous: s, ChangedFields: []string{s}, Severity: s, Package: s, Ecosystem: s,
		PackageVersion: s, GHSAID: s, CVEID: s, VulnerableRange: s, PatchedVersion: s, Rule: s, Tool: s, SecretType: s, Reason: s,
		Path: s, Category: s, Sponsor: s, Tier: s, Zen: s, Assignee: s, ScanType: s, ContentType: s,
		RepositoriesAdded: []string{s}, RepositoriesRemoved: []string{s}, Pages: []event.WikiPage{{Title: s, Action: s, URL: "https://github.com/w"}},
		Related: &event.Link{Type: s, Number: 3, Title: s, URL: "https://github.com/r"},
		Commits: []event.Commit{{ID: s, Message: s, Author: s, URL: "https://github.com/c"}}, CommitCount: 3}
	return e
}

// mrkdwnTexts are the texts of m that Slack reads as mrkdwn: sections,
// context and the notification (headers are plain text).
func mrkdwnTexts(m Message) []string {
	texts := []string{m.Text}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.SectionBlock:
			texts = append(texts, b.Text.Text)
		case *slack.ContextBlock:
			for _, el := range b.ContextElements.Elements {
				if txt, ok := el.(*slack.TextBlockObject); ok {
					texts = append(texts, txt.Text)
				}
			}
		}
	}
	return texts
}

var (
	linkToken    = regexp.MustCompile(`<(https?://[^|<>\s]+)\|([^<>|]*)>`)
	mentionToken = regexp.MustCompile(`<(@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+)>`)
)

// tokens checks that every < and > of a mrkdwn text belongs to a well
// formed link or an allowed mention (or starts a quote line), and
// returns the number of links and the text with the link URLs removed.
func tokens(t *testing.T, text string, allowed map[string]bool) (int, string) {
	t.Helper()
	links := len(linkToken.FindAllString(text, -1))
	rest := linkToken.ReplaceAllString(text, "<|$2>")
	for _, m := range mentionToken.FindAllString(rest, -1) {
		if !allowed[m] {
			t.Fatalf("mention %s not from the configuration in %q", m, text)
		}
	}
	bare := mentionToken.ReplaceAllString(linkToken.ReplaceAllString(text, "L"), "M")
	for _, line := range strings.Split(bare, "\n") {
		line = strings.TrimPrefix(line, "> ")
		if strings.ContainsAny(line, "<>") {
			t.Fatalf("a stray < or > in %q (of %q)", line, text)
		}
	}
	return links, rest
}

// formattingCount counts the characters that would format the mrkdwn
// texts (link URLs removed; code spans format nothing): every *, ~ and
// backtick, and every run of _ at the edge of a word.
func formattingCount(texts []string) int {
	n := 0
	for _, t := range texts {
		// Our own code spans hold no backtick; everything inside is literal.
		parts := strings.Split(t, "`")
		n += len(parts) - 1
		for i, p := range parts {
			if i%2 == 1 && i < len(parts)-1 {
				continue
			}
			rs := []rune(p)
			for i := 0; i < len(rs); i++ {
				switch rs[i] {
				case '*', '~':
					n++
				case '_':
					j := i
					for j < len(rs) && rs[j] == '_' {
						j++
					}
					if edgeOfWord(rs, i, j) {
						n++
					}
					i = j - 1
				}
			}
		}
	}
	return n
}

// FuzzNoMentionOrLink checks that no text from GitHub yields a mention,
// a link, formatting of its own or a Block Kit limit violation: every <
// and > belongs to a well formed link or a configured mention, there
// are no more links than for the same event with < and > replaced, and
// exactly as many formatting characters as for the same event with the
// formatting characters of the text replaced by their look-alikes.
func FuzzNoMentionOrLink(f *testing.F) {
	for _, s := range []string{"<!channel> deploy now", "<https://evil.example|click>", "<!here>", "<!everyone>", "<!subteam^S123>",
		"&lt;!channel&gt;", "<@U123>", "a|b>c", strings.Repeat("<", 200), "*bold* _it_ ~s~ `c`", "{actor} {repo|x} [ to {env}]",
		"a\u202eb\x1b[2J\x00", "👨‍👩‍👧‍👦", "alice", "core", "__init__ a_b _c_", "> quote\n>> more"} {
		f.Add(s)
	}
	kinds := representative()
	opts := Options{People: people, Mention: []string{"S0ONCALL1"}}
	allowed := map[string]bool{"<@U0ALICE01>": true, "<!subteam^S0CORE001>": true, "<!subteam^S0ONCALL1>": true}
	noAngles := strings.NewReplacer("<", "a", ">", "a")
	lookalikes := strings.NewReplacer("*", "∗", "~", "∼", "`", "ˋ", "_", "＿")
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range kinds {
			m := RenderWith(fuzzEvent(k, s), opts)
			checkLimits(t, m)
			ref := RenderWith(fuzzEvent(k, noAngles.Replace(s)), opts)
			same := RenderWith(fuzzEvent(k, lookalikes.Replace(s)), opts)
			var got, want int
			var rest, sameRest []string
			for _, text := range mrkdwnTexts(m) {
				n, r := tokens(t, text, allowed)
				got += n
				rest = append(rest, r)
			}
			for _, text := range mrkdwnTexts(ref) {
				n, _ := tokens(t, text, allowed)
				want += n
			}
			for _, text := range mrkdwnTexts(same) {
				_, r := tokens(t, text, allowed)
				sameRest = append(sameRest, r)
			}
			if got > want {
				t.Fatalf("%s: %q made links: %d, against %d:\n%s", k, s, got, want, allText(m))
			}
			if a, b := formattingCount(rest), formattingCount(sameRest); a != b {
				t.Fatalf("%s: %q changed the formatting (%d vs %d):\n%s\nvs\n%s", k, s, a, b, strings.Join(rest, "\n"), strings.Join(sameRest, "\n"))
			}
			all := allText(m)
			if i := strings.IndexFunc(all, func(r rune) bool { return r != '\n' && UnsafeRune(r) }); i >= 0 {
				t.Fatalf("%s: %q left a control character in %q", k, s, all)
			}
		}
	})
}

// FuzzLimits checks Slack's limits for any text repeated any number of
// times, in every string and list of every layout.
func FuzzLimits(f *testing.F) {
	f.Add("<!channel>", uint16(2000))
	f.Add("\n", uint16(1400))
	f.Add("🙂", uint16(1499))
	f.Add("", uint16(0))
	kinds := representative()
	f.Fuzz(func(t *testing.T, s string, n uint16) {
		long := strings.Repeat(s, int(n%1500))
		for _, k := range kinds {
			e := fuzzEvent(k, long)
			x := e.Data.Details
			for i := 0; i < int(n%150); i++ {
				item := fmt.Sprintf("%d-%s", i, s)
				e.Data.Target.Labels = append(e.Data.Target.Labels, item)
				x.RequestedReviewers = append(x.RequestedReviewers, item)
				x.Commits = append(x.Commits, event.Commit{ID: item, Message: long, URL: "https://github.com/c/" + item})
				x.RepositoriesAdded = append(x.RepositoriesAdded, item)
			}
			checkLimits(t, RenderWith(e, Options{People: people}))
		}
	})
}
