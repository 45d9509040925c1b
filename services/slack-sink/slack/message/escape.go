package message

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Slack's limits on what a message may hold. Lengths are counted as
// Slack counts them, in UTF-16 code units (see Len).
const (
	MaxBlocks          = 50
	MaxSectionText     = 3000
	MaxHeaderText      = 150
	MaxContextElements = 10
	MaxFields          = 10
	MaxFieldText       = 2000
	// MaxFallbackText is Slack's limit on a message's top-level text.
	MaxFallbackText = 3000
	// MaxNotificationText is ghnotify's own limit on the top-level text,
	// which phones show as the notification: about two lines.
	MaxNotificationText = 200
)

// Ellipsis ends every truncated text.
const Ellipsis = "…"

// Len is the length of s as Slack counts it: UTF-16 code units, so an
// emoji outside the Basic Multilingual Plane counts two.
func Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape replaces &, < and > with their entities, the only escapes Slack
// has, so that text from GitHub can neither mention nor link.
func Escape(s string) string { return escaper.Replace(s) }

// UnsafeRune reports whether r could move a terminal's cursor, change
// colours or reorder text: control characters (C0, DEL, C1, so also
// newlines) and bidirectional controls such as U+202E.
func UnsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control)
}

// Printable returns s with every unsafe rune (UnsafeRune) and every byte
// of invalid UTF-8 written as a Go escape (\x1b, \u202e), so that what
// the text would have done shows instead of happening. The console prints
// through it, and every string sent to Slack passes through Clean, which
// is Printable keeping newlines.
func Printable(s string) string { return replaceUnsafe(s, false) }

// Clean is Printable except that newlines stay (a comment keeps its
// lines) and a tab becomes a space.
func Clean(s string) string { return replaceUnsafe(s, true) }

func replaceUnsafe(s string, keepLines bool) string {
	if strings.IndexFunc(s, UnsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && r == '\n':
			b.WriteRune(r)
		case keepLines && r == '\t':
			b.WriteRune(' ')
		case keepLines && r == '\r':
			// \r\n is a newline; a lone \r is dropped.
		case UnsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Look-alikes that stand in for Slack's formatting characters in text
// from GitHub, so that a title holding "*" or "`" cannot end the bold or
// code span the message put around it, nor start one of its own.
const (
	starLookalike     = '∗' // U+2217 ASTERISK OPERATOR
	tildeLookalike    = '∼' // U+223C TILDE OPERATOR
	backtickLookalike = 'ˋ' // U+02CB MODIFIER LETTER GRAVE ACCENT
	lowLineLookalike  = '＿' // U+FF3F FULLWIDTH LOW LINE
)

// neutralize replaces the characters Slack's mrkdwn could read as
// formatting: every *, ~ and backtick, and every run of _ at the edge of
// a word (Slack does not format snake_case, so those stay).
func neutralize(s string) string {
	if !strings.ContainsAny(s, "*~`_") {
		return s
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '*':
			rs[i] = starLookalike
		case '~':
			rs[i] = tildeLookalike
		case '`':
			rs[i] = backtickLookalike
		case '_':
			j := i
			for j < len(rs) && rs[j] == '_' {
				j++
			}
			if edgeOfWord(rs, i, j) {
				for k := i; k < j; k++ {
					rs[k] = lowLineLookalike
				}
			}
			i = j - 1
		}
	}
	return string(rs)
}

// edgeOfWord reports whether the run rs[i:j] touches the start or the
// end of a word: a side with no letter or digit next to it.
func edgeOfWord(rs []rune, i, j int) bool {
	return i == 0 || j == len(rs) || !wordRune(rs[i-1]) || !wordRune(rs[j])
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// oneLine turns newlines into spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
}

// fit cleans s, applies tr, escapes it and cuts it to at most n UTF-16
// units, counting the escaped form, ending with an ellipsis when it had
// to cut. It cuts between grapheme clusters, never inside an entity, an
// emoji sequence or a flag.
func fit(s string, n int, tr func(string) string) string {
	if n <= 0 {
		return ""
	}
	// Only the start of a long text can show: cut it before the work,
	// generously, since cleaning can shorten what is left.
	cut := false
	if max := 4*n + 64; len(s) > max {
		if i := runeOffset(s, max); i < len(s) {
			s, cut = s[:i], true
		}
	}
	s = Clean(s)
	if tr != nil {
		s = tr(s)
	}
	esc := Escape(s)
	if !cut && Len(esc) <= n {
		return esc
	}
	var b strings.Builder
	used, limit := 0, n-Len(Ellipsis)
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		piece := Escape(g.Str())
		w := Len(piece)
		if used+w > limit {
			break
		}
		b.WriteString(piece)
		used += w
	}
	return strings.TrimRight(b.String(), " ") + Ellipsis
}

// runeOffset is the byte offset of the n-th rune of s, len(s) if fewer.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// Fit returns s as plain text (a header, the notification text): on one
// line, cleaned (Clean), escaped and cut to at most n units.
func Fit(s string, n int) string { return fit(s, n, oneLine) }

// Text returns s as one line of mrkdwn: Fit with Slack's formatting
// characters replaced by look-alikes (see neutralize).
func Text(s string, n int) string {
	return fit(s, n, func(s string) string { return neutralize(oneLine(s)) })
}

// paragraph is Text keeping the lines of s.
func paragraph(s string, n int) string { return fit(s, n, neutralize) }

// code returns s as an inline code span of at most n units of content,
// "" when s is empty. Inside a span Slack formats nothing, so only
// backticks need replacing.
func code(s string, n int) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "`" + fit(s, n, func(s string) string {
		return strings.ReplaceAll(oneLine(s), "`", string(backtickLookalike))
	}) + "`"
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

// maxURL caps a link's URL; a longer one is shown as text only.
const maxURL = 2000

// link returns a Slack link to u showing text (mrkdwn, at most n units),
// or the text alone when u is not a safe URL.
func link(u, text string, n int) string {
	su := safeURL(u)
	if text == "" {
		text = u
	}
	if su == "" || Len(su) > maxURL {
		return Text(text, n)
	}
	// A | in the label could be read as the start of the label, so the
	// label shows a look-alike.
	label := fit(text, n, func(s string) string { return strings.ReplaceAll(neutralize(oneLine(s)), "|", "∣") })
	return "<" + su + "|" + label + ">"
}

// clampLines joins lines with newlines, dropping whole lines from the end
// so that the result stays within n units.
func clampLines(lines []string, n int) string {
	var b strings.Builder
	used := 0
	for i, l := range lines {
		w := Len(l)
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

// andMore lists items (already mrkdwn) joined by sep, at most max of
// them, ending with "and N more" for the rest.
func andMore(items []string, max int, sep string) string {
	if len(items) <= max {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:max], sep) + fmt.Sprintf(" and %d more", len(items)-max)
}
