package message

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/slack-go/slack"
)

func TestDigestLines(t *testing.T) {
	tests := []struct {
		g    schedule.Group
		want string
	}{
		{schedule.Group{Kind: "star.created", Count: 12}, "12 new stars on acme/rocket"},
		{schedule.Group{Kind: "star.created", Count: 1}, "1 new star on acme/rocket"},
		{schedule.Group{Kind: "push.pushed", Feature: true, Count: 5}, "5 pushes to feature branches of acme/rocket"},
		{schedule.Group{Kind: "fork.created", Count: 3}, "3 forks of acme/rocket"},
		{schedule.Group{Kind: "label.created", Count: 2}, "2 label.created events in acme/rocket"},
	}
	for _, tt := range tests {
		if got := DigestLine(tt.g, "acme/rocket"); got != tt.want {
			t.Errorf("DigestLine(%+v) = %q, want %q", tt.g, got, tt.want)
		}
	}
}

func TestRenderDigest(t *testing.T) {
	var items []schedule.Item
	for i := range 12 {
		items = append(items, schedule.Item{ID: fmt.Sprint("s", i), Kind: "star.created", Repo: "acme/rocket", RepoURL: "https://github.com/acme/rocket", Title: fmt.Sprintf("fan%d", i), URL: fmt.Sprintf("https://github.com/fan%d", i)})
	}
	items = append(items, schedule.Item{ID: "f", Kind: "fork.created", Repo: "acme/rocket", Title: "<!channel> & co", URL: "javascript:alert(1)"})
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	b := schedule.Gather(schedule.Batch{Route: "stars", Start: start, End: start.Add(24 * time.Hour), Zone: "Europe/Berlin"}, items)
	m := RenderDigest(&b)
	out := digestText(m)
	for _, want := range []string{"Digest: 13 events", "12 new stars on <https://github.com/acme/rocket|acme/rocket>", "<https://github.com/fan0|fan0>", "and 7 more", "1 fork of acme/rocket", "&lt;!channel&gt; &amp; co", "From Tue 1 Dec 09:00 to Wed 2 Dec 09:00 CET"} {
		if !strings.Contains(out, want) {
			t.Errorf("digest lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "javascript:") || strings.Contains(out, "<!channel>") {
		t.Errorf("digest carries an unsafe link or a mention:\n%s", out)
	}
	if !strings.HasPrefix(m.Text, "Digest: 12 new stars on acme/rocket, 1 fork of acme/rocket") {
		t.Errorf("fallback text %q", m.Text)
	}
}

func TestRenderDigestWithinLimits(t *testing.T) {
	var items []schedule.Item
	long := strings.Repeat("<x>", 400)
	for r := range 200 {
		for i := range 7 {
			items = append(items, schedule.Item{ID: fmt.Sprint(r, "-", i), Kind: "star.created", Repo: fmt.Sprintf("acme/%s%d", long, r), Title: long, URL: "https://github.com/" + long})
		}
	}
	b := schedule.Gather(schedule.Batch{Route: long}, items)
	m := RenderDigest(&b)
	if n := len(m.Blocks.BlockSet); n > MaxBlocks {
		t.Fatalf("%d blocks, Slack takes %d", n, MaxBlocks)
	}
	if len([]rune(m.Text)) > MaxFallbackText {
		t.Errorf("fallback text of %d characters", len([]rune(m.Text)))
	}
	if !strings.Contains(digestText(m), fmt.Sprintf("and %d more groups (%d events)", 200-schedule.MaxGroups, (200-schedule.MaxGroups)*7)) {
		t.Errorf("digest does not count the groups past the limit")
	}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if n := len([]rune(b.Text.Text)); n > MaxHeaderText {
				t.Errorf("header of %d characters", n)
			}
		case *slack.SectionBlock:
			if n := len([]rune(b.Text.Text)); n > MaxSectionText {
				t.Errorf("section of %d characters", n)
			}
		}
	}
}

// digestText is every text of a message, as Slack receives it.
func digestText(m Message) string {
	out := []string{m.Text}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			out = append(out, b.Text.Text)
		case *slack.SectionBlock:
			out = append(out, b.Text.Text)
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if tb, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, tb.Text)
				}
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestRenderDigestGitHubTextCannotFormat: titles in a digest follow the
// rules of every message: Slack's formatting characters, control and
// bidirectional characters are neutralised, and every text object is
// verbatim.
func TestRenderDigestGitHubTextCannotFormat(t *testing.T) {
	items := []schedule.Item{
		{ID: "a", Kind: "issues.opened", Repo: "acme/rocket", RepoURL: "https://github.com/acme/rocket", Title: "*bold* ~gone~ `code` _it_ a|b \x1b[31m \u202egnp.exe", URL: "https://github.com/acme/rocket/issues/1"},
	}
	b := schedule.Gather(schedule.Batch{Route: "r"}, items)
	m := RenderDigest(&b)
	for _, blk := range m.Blocks.BlockSet {
		s, ok := blk.(*slack.SectionBlock)
		if !ok {
			continue
		}
		if !s.Text.Verbatim {
			t.Errorf("section %q is not verbatim", s.Text.Text)
		}
		body := s.Text.Text
		for _, bad := range []string{"*bold*", "~gone~", "`code`", "_it_", "a|b", "\x1b", "\u202e"} {
			if strings.Contains(body, bad) {
				t.Errorf("section %q keeps %q", body, bad)
			}
		}
	}
}
