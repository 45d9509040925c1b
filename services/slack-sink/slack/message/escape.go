package message

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Slack's limits on what a message may hold.
const (
	MaxBlocks          = 50
	MaxSectionText     = 3000
	MaxHeaderText      = 150
	MaxContextElements = 10
	MaxFields          = 10
	MaxFieldText       = 2000
	MaxFallbackText    = 3000
)

// Ellipsis ends every truncated text.
const Ellipsis = "…"

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape replaces &, < and > with their entities, the only escapes Slack
// has, so that text from GitHub can neither mention nor link.
func Escape(s string) string { return escaper.Replace(s) }

// Fit escapes s and truncates it to at most n characters, counting the
// escaped form and ending with an ellipsis when it had to cut. It never
// cuts inside an entity.
func Fit(s string, n int) string {
	if n <= 0 {
		return ""
	}
	esc := Escape(s)
	if utf8.RuneCountInString(esc) <= n {
		return esc
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		piece := Escape(string(r))
		w := utf8.RuneCountInString(piece)
		if used+w > n-1 {
			break
		}
		b.WriteString(piece)
		used += w
	}
	return b.String() + Ellipsis
}

// firstLine returns the first non-empty line of s.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// safeURL returns u if it is an absolute http(s) URL, with every byte that
// could end or split a Slack link percent-encoded; "" otherwise.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<' || c == '>' || c == '|' || c == '"' || c <= ' ' || c >= 0x7f:
			b.WriteString("%")
			b.WriteString(strings.ToUpper(hex(c)))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hex(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// link returns a Slack link to u showing text (escaped, at most n
// characters), or the escaped text alone when u is not a safe URL.
func link(u, text string, n int) string {
	su := safeURL(u)
	if text == "" {
		text = u
	}
	if su == "" {
		return Fit(text, n)
	}
	return "<" + su + "|" + Fit(text, n) + ">"
}

// clampLines joins lines with newlines, dropping whole lines from the end
// so that the result stays within n characters.
func clampLines(lines []string, n int) string {
	var b strings.Builder
	used := 0
	for i, l := range lines {
		w := utf8.RuneCountInString(l)
		sep := 0
		if i > 0 {
			sep = 1
		}
		if used+sep+w > n {
			if used+sep+1 <= n {
				if sep == 1 {
					b.WriteString("\n")
				}
				b.WriteString(Ellipsis)
			}
			break
		}
		if sep == 1 {
			b.WriteString("\n")
		}
		b.WriteString(l)
		used += sep + w
	}
	return b.String()
}
