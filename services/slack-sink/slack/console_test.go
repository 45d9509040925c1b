package slack

import (
	"strings"
	"testing"

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
