package slack

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/shared/event"
)

func TestConsoleLines(t *testing.T) {
	repo := &event.Repository{Owner: "acme", Name: "widgets", FullName: "acme/widgets", URL: "https://github.com/acme/widgets"}
	tests := []struct {
		name string
		data event.Data
		want string
	}{
		{"issue", event.Data{Kind: "issues.opened", Repository: repo, Actor: event.Actor{Login: "octocat"},
			Target: &event.Target{Number: 7, Title: "Widgets break", URL: "https://github.com/acme/widgets/issues/7"}},
			"[issues.opened] acme/widgets #7 \"Widgets break\" by @octocat\n    https://github.com/acme/widgets/issues/7\n"},
		{"push falls back to the compare URL", event.Data{Kind: "push.pushed", Repository: repo, Actor: event.Actor{Login: "mona"},
			Details: &event.Details{CompareURL: "https://github.com/acme/widgets/compare/a...b"}},
			"[push.pushed] acme/widgets by @mona\n    https://github.com/acme/widgets/compare/a...b\n"},
		{"star falls back to the repository URL", event.Data{Kind: "star.created", Repository: repo, Actor: event.Actor{Login: "mona"}},
			"[star.created] acme/widgets by @mona\n    https://github.com/acme/widgets\n"},
		{"nothing but a kind", event.Data{Kind: "ping.ping"}, "[ping.ping]\n"},
		{"escape sequences in every field", event.Data{Kind: "issues.opened",
			Repository: &event.Repository{FullName: "acme/\x1b]0;pwned\x07w"},
			Actor:      event.Actor{Login: "evil\x1b[2J\u202e"},
			Target:     &event.Target{Number: 1, Title: "\x1b[31mred\x1b[0m\r\nfake line\x9b", URL: "https://x.example/\x1b[1m\n"}},
			"[issues.opened] acme/\\x1b]0;pwned\\aw #1 \"\\x1b[31mred\\x1b[0m\\r\\nfake line\\x9b\" by @evil\\x1b[2J\\u202e\n    https://x.example/\\x1b[1m\\n\n"},
		{"invalid UTF-8 and a real replacement character", event.Data{Kind: "issues.opened", Actor: event.Actor{Login: "a\xffb\uFFFDc"}},
			"[issues.opened] by @a\\xffb\uFFFDc\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ConsoleLines(&event.Event{Data: tc.data})
			if got != tc.want {
				t.Errorf("ConsoleLines =\n%q\nwant\n%q", got, tc.want)
			}
			body := strings.TrimSuffix(strings.ReplaceAll(got, "\n    ", " "), "\n")
			if i := strings.IndexFunc(body, unsafeRune); i >= 0 {
				t.Errorf("control character %q left at %d in %q", body[i], i, got)
			}
		})
	}
}

// FuzzPrintable checks that Printable leaves no rune a terminal acts on
// and changes nothing else.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31m", "\u202eabc", "a\xffb", "\uFFFD", "tab\there", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Printable(s)
		if strings.IndexFunc(got, unsafeRune) >= 0 {
			t.Fatalf("Printable(%q) = %q keeps a control character", s, got)
		}
		if strings.IndexFunc(s, unsafeRune) < 0 && strings.ToValidUTF8(s, "") == s && got != s {
			t.Fatalf("Printable(%q) = %q changed harmless text", s, got)
		}
	})
}

func TestInboxKeepsTheLastMessagesAndTellsSubscribers(t *testing.T) {
	in := NewInbox(2)
	ch, stop := in.Subscribe()
	defer stop()
	for _, id := range []string{"a", "b", "c"} {
		in.Add(InboxMessage{EventID: id, Message: []byte(`{}`)})
	}
	got := in.Recent()
	if len(got) != 2 || got[0].EventID != "c" || got[1].EventID != "b" || got[0].Seq != 3 {
		t.Fatalf("recent = %+v, want c (3) then b", got)
	}
	for _, want := range []string{"a", "b", "c"} {
		if m := <-ch; m.EventID != want {
			t.Fatalf("subscriber got %q, want %q", m.EventID, want)
		}
	}
	stop()
	in.Add(InboxMessage{EventID: "d"})
	select {
	case m := <-ch:
		t.Fatalf("ended subscription got %+v", m)
	default:
	}
}

func TestConsolePosterFillsTheInbox(t *testing.T) {
	in := NewInbox(10)
	p := consolePoster{w: io.Discard, inbox: in, name: "console"}
	ev := &event.Event{ID: "d1/0", Data: event.Data{Kind: "star.created", Actor: event.Actor{Login: "ana"}, Repository: &event.Repository{FullName: "acme/rocket"}}}
	if _, err := p.Post(context.Background(), ev, deliver.Thread{}); err != nil {
		t.Fatal(err)
	}
	got := in.Recent()
	if len(got) != 1 || got[0].Destination != "console" || got[0].Kind != "star.created" || !strings.Contains(string(got[0].Message), `"blocks"`) {
		t.Fatalf("inbox = %+v", got)
	}
}
