package webconsole

import (
	"strings"
)

// MessageCSS returns the rules of the console's stylesheet that draw a
// Slack message (the .slack* and .bk-* rules) and the page-wide rules
// they inherit (:root, body, a), in the stylesheet's order. The gallery's
// pictures of messages (docs/messages.md) are drawn with them, so a
// change to these rules is a change to those pictures.
func MessageCSS() string {
	css, err := staticFS.ReadFile("static/console.css")
	if err != nil {
		panic("webconsole: the embedded stylesheet is missing: " + err.Error())
	}
	var b strings.Builder
	for _, r := range cssRules(string(css)) {
		if messageRule(r.selectors) {
			b.WriteString(r.text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// cssRule is one top-level rule of a stylesheet: its selector list (or
// at-rule prelude) and its text, comments removed.
type cssRule struct {
	selectors string
	text      string
}

// cssRules splits a stylesheet into its top-level rules; an at-rule
// (@media, @keyframes) is one rule, its nested blocks included.
func cssRules(css string) []cssRule {
	css = stripComments(css)
	var out []cssRule
	for {
		open := strings.IndexByte(css, '{')
		if open < 0 {
			return out
		}
		depth, end := 0, -1
		for i := open; i < len(css) && end < 0; i++ {
			switch css[i] {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return out // an unclosed block: the browser drops it too
		}
		out = append(out, cssRule{
			selectors: strings.TrimSpace(css[:open]),
			text:      strings.TrimSpace(css[:end+1]),
		})
		css = css[end+1:]
	}
}

func stripComments(css string) string {
	var b strings.Builder
	for {
		i := strings.Index(css, "/*")
		if i < 0 {
			b.WriteString(css)
			return b.String()
		}
		b.WriteString(css[:i])
		j := strings.Index(css[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		css = css[i+2+j+2:]
	}
}

// messageRule reports whether every selector of a rule styles a message:
// it names a .slack* or .bk-* class first, or it is one of the page-wide
// selectors a message inherits from.
func messageRule(selectors string) bool {
	if strings.HasPrefix(selectors, "@") {
		return false
	}
	for _, s := range strings.Split(selectors, ",") {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, ".slack"), strings.HasPrefix(s, ".bk-"):
		case s == ":root", s == "body", s == "a":
		default:
			return false
		}
	}
	return true
}
