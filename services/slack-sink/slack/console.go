package slack

import (
	"fmt"
	"strings"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/shared/event"
)

// ConsoleLines renders an event as one or two readable lines: kind,
// repository, target and title, URL and actor. Every string from GitHub
// passes through Printable, so no payload can send escape sequences to
// the terminal.
func ConsoleLines(ev *event.Event) string {
	d := &ev.Data
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", Printable(d.Kind))
	if r := d.Repository; r != nil && r.FullName != "" {
		fmt.Fprintf(&b, " %s", Printable(r.FullName))
	}
	url := ""
	if t := d.Target; t != nil {
		if t.Number > 0 {
			fmt.Fprintf(&b, " #%d", t.Number)
		}
		if t.Title != "" {
			fmt.Fprintf(&b, " %q", t.Title)
		}
		url = t.URL
	}
	if url == "" && d.Details != nil {
		url = d.Details.CompareURL
	}
	if url == "" && d.Repository != nil {
		url = d.Repository.URL
	}
	if d.Actor.Login != "" {
		fmt.Fprintf(&b, " by @%s", Printable(d.Actor.Login))
	}
	b.WriteString("\n")
	if url != "" {
		fmt.Fprintf(&b, "    %s\n", Printable(url))
	}
	return b.String()
}

// Printable returns s with every rune a terminal could act on written as a
// Go escape (\x1b, \u202e): control characters (C0, DEL, C1, so also
// newlines), bidirectional overrides and invalid UTF-8. It is the same
// function Slack messages are cleaned with (message.Printable).
func Printable(s string) string { return message.Printable(s) }

// unsafeRune reports whether r could move the cursor, change colours or
// reorder text on a terminal (message.UnsafeRune).
func unsafeRune(r rune) bool { return message.UnsafeRune(r) }
