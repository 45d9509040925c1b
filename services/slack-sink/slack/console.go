package slack

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
// newlines), bidirectional overrides and invalid UTF-8.
func Printable(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports whether r could move the cursor, change colours or
// reorder text on a terminal.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control)
}
