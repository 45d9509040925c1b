// Package blockkit draws a Slack Block Kit message as HTML, the way Slack
// shows it: header, section (mrkdwn text and fields), context, divider and
// image blocks; mrkdwn bold, italic, strike, inline code, code blocks,
// quotes, links, user, channel and group mentions, and emoji shortcodes.
// It reads the message as JSON (what Slack receives), so it draws any
// message, not only ghnotify's. It does no I/O, and everything it emits is
// escaped: no text of the message can become markup, and nothing it draws
// makes the browser fetch anything (images are shown by their alt text).
// The class names (bk-*) are styled by the web console's stylesheet.
package blockkit

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// slackMessage is the part of Slack's message JSON that is drawn.
type slackMessage struct {
	Text   string            `json:"text"`
	Blocks []json.RawMessage `json:"blocks"`
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	AltText  string `json:"alt_text"`
	ImageURL string `json:"image_url"`
}

type block struct {
	Type     string       `json:"type"`
	Text     *textObject  `json:"text"`
	Fields   []textObject `json:"fields"`
	Elements []element    `json:"elements"`
	AltText  string       `json:"alt_text"`
	Title    *textObject  `json:"title"`
}

// Render draws a Slack message given as JSON ({"text": ..., "blocks":
// [...]}). A message without blocks is drawn from its text, as Slack does.
func Render(msg []byte) (template.HTML, error) {
	var m slackMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return "", fmt.Errorf("reading slack message: %w", err)
	}
	var b strings.Builder
	b.WriteString(`<div class="bk-message">`)
	if len(m.Blocks) == 0 {
		b.WriteString(`<div class="bk-section"><div class="bk-text">`)
		b.WriteString(mrkdwn(m.Text))
		b.WriteString(`</div></div>`)
	}
	for _, raw := range m.Blocks {
		var bl block
		if err := json.Unmarshal(raw, &bl); err != nil {
			return "", fmt.Errorf("reading slack block: %w", err)
		}
		renderBlock(&b, bl)
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String()), nil
}

// Mrkdwn draws one mrkdwn text as Slack shows it.
func Mrkdwn(s string) template.HTML { return template.HTML(mrkdwn(s)) }

func renderBlock(b *strings.Builder, bl block) {
	switch bl.Type {
	case "header":
		b.WriteString(`<div class="bk-header">`)
		if bl.Text != nil {
			b.WriteString(plain(bl.Text.Text))
		}
		b.WriteString(`</div>`)
	case "section":
		b.WriteString(`<div class="bk-section">`)
		if bl.Text != nil {
			b.WriteString(`<div class="bk-text">`)
			b.WriteString(text(*bl.Text))
			b.WriteString(`</div>`)
		}
		if len(bl.Fields) > 0 {
			b.WriteString(`<div class="bk-fields">`)
			for _, f := range bl.Fields {
				b.WriteString(`<div class="bk-field">`)
				b.WriteString(text(f))
				b.WriteString(`</div>`)
			}
			b.WriteString(`</div>`)
		}
		b.WriteString(`</div>`)
	case "context":
		b.WriteString(`<div class="bk-context">`)
		for _, e := range bl.Elements {
			switch e.Type {
			case "image":
				b.WriteString(`<span class="bk-context-img" title="`)
				b.WriteString(html.EscapeString(e.AltText))
				b.WriteString(`">▣</span>`)
			default:
				b.WriteString(`<span class="bk-context-el">`)
				b.WriteString(text(e.textObject()))
				b.WriteString(`</span>`)
			}
		}
		b.WriteString(`</div>`)
	case "divider":
		b.WriteString(`<hr class="bk-divider">`)
	case "image":
		b.WriteString(`<div class="bk-image">`)
		alt := bl.AltText
		if bl.Title != nil && bl.Title.Text != "" {
			alt = bl.Title.Text
		}
		b.WriteString(`image: ` + html.EscapeString(alt))
		b.WriteString(`</div>`)
	default:
		b.WriteString(`<div class="bk-unsupported">(a `)
		b.WriteString(html.EscapeString(bl.Type))
		b.WriteString(` block, not drawn here)</div>`)
	}
}

func (e element) textObject() textObject { return textObject{Type: e.Type, Text: e.Text} }

// text draws a text object: mrkdwn, or plain text.
func text(t textObject) string {
	if t.Type == "mrkdwn" {
		return mrkdwn(t.Text)
	}
	return plain(t.Text)
}

// decoder undoes Slack's three escapes.
var decoder = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// plain draws plain text: Slack's escapes undone, emoji shortcodes
// shown, everything else as written.
func plain(s string) string {
	var b strings.Builder
	for _, it := range emojify(decoder.Replace(s)) {
		b.WriteString(it.html())
	}
	return b.String()
}

// item is one character of a line, or an atom already drawn (a link, a
// mention, an emoji).
type item struct {
	r    rune
	atom string
}

func (it item) html() string {
	if it.atom != "" {
		return it.atom
	}
	return html.EscapeString(string(it.r))
}

func (it item) space() bool { return it.atom == "" && unicode.IsSpace(it.r) }

// boundary reports whether a formatting mark may open after it or close
// before it: a space, punctuation, or an atom.
func (it item) boundary() bool {
	return it.atom != "" || unicode.IsSpace(it.r) || unicode.IsPunct(it.r) || unicode.IsSymbol(it.r)
}

// emojify splits decoded text into items, drawing known :shortcodes:.
func emojify(s string) []item {
	var out []item
	for i := 0; i < len(s); {
		if s[i] == ':' {
			if j := strings.IndexByte(s[i+1:], ':'); j > 0 {
				name := s[i+1 : i+1+j]
				if e, ok := emoji[name]; ok {
					out = append(out, item{atom: `<span class="bk-emoji" title=":` + html.EscapeString(name) + `:">` + e + `</span>`})
					i += j + 2
					continue
				}
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, item{r: r})
		i += n
	}
	return out
}

// mrkdwn draws Slack's mrkdwn: code blocks, quotes, then each line's
// inline formatting.
func mrkdwn(s string) string {
	var b strings.Builder
	parts := strings.Split(s, "```")
	if len(parts)%2 == 0 {
		// An unclosed fence is text.
		last := parts[len(parts)-2] + "```" + parts[len(parts)-1]
		parts = append(parts[:len(parts)-2], last)
	}
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString(`<pre class="bk-pre">`)
			b.WriteString(html.EscapeString(decoder.Replace(strings.TrimPrefix(p, "\n"))))
			b.WriteString(`</pre>`)
			continue
		}
		lines(&b, p)
	}
	return b.String()
}

// quoted returns a line without its quote mark, and whether it had one.
func quoted(l string) (string, bool) {
	for _, mark := range []string{"&gt;", ">"} {
		if rest, ok := strings.CutPrefix(l, mark); ok {
			return strings.TrimPrefix(rest, " "), true
		}
	}
	return l, false
}

func lines(b *strings.Builder, s string) {
	inQuote := false
	for i, l := range strings.Split(s, "\n") {
		rest, q := quoted(l)
		switch {
		case q != inQuote && q:
			b.WriteString(`<blockquote class="bk-quote">`)
		case q != inQuote:
			b.WriteString(`</blockquote>`)
		case i > 0:
			b.WriteString("\n")
		}
		inQuote = q
		b.WriteString(inline(rest))
	}
	if inQuote {
		b.WriteString(`</blockquote>`)
	}
}

// inline draws one line: links and mentions, then bold, italic, strike and
// code marks, which may span them.
func inline(l string) string {
	var items []item
	for len(l) > 0 {
		i := strings.IndexByte(l, '<')
		if i < 0 {
			items = append(items, emojify(decoder.Replace(l))...)
			break
		}
		items = append(items, emojify(decoder.Replace(l[:i]))...)
		j := strings.IndexByte(l[i:], '>')
		if j < 0 {
			items = append(items, emojify(decoder.Replace(l[i:]))...)
			break
		}
		items = append(items, item{atom: atom(l[i+1 : i+j])})
		l = l[i+j+1:]
	}
	return format(items)
}

// atom draws what is between < and >: a link, or a mention.
func atom(c string) string {
	target, label, hasLabel := strings.Cut(c, "|")
	mention := func(s string) string {
		return `<span class="bk-mention">` + plain(s) + `</span>`
	}
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel {
			return mention("@" + strings.TrimPrefix(label, "@"))
		}
		return mention(target)
	case strings.HasPrefix(target, "#"):
		if hasLabel {
			return mention("#" + strings.TrimPrefix(label, "#"))
		}
		return mention(target)
	case strings.HasPrefix(target, "!subteam^"):
		if hasLabel {
			return mention("@" + strings.TrimPrefix(label, "@"))
		}
		return mention("@" + strings.TrimPrefix(target, "!subteam^"))
	case target == "!here" || target == "!channel" || target == "!everyone":
		return mention("@" + target[1:])
	case strings.HasPrefix(target, "!"):
		// <!date^...|fallback> and other special commands show their label.
		if hasLabel {
			return plain(label)
		}
		return plain(target[1:])
	}
	url := decoder.Replace(target)
	shown := label
	if !hasLabel || label == "" {
		shown = target
	}
	if !safeScheme(url) {
		return plain(shown)
	}
	return `<a class="bk-link" href="` + html.EscapeString(url) + `" target="_blank" rel="noopener noreferrer">` + format(emojify(decoder.Replace(shown))) + `</a>`
}

func safeScheme(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:")
}

var marks = map[rune][2]string{
	'*': {`<b>`, `</b>`},
	'_': {`<i>`, `</i>`},
	'~': {`<s>`, `</s>`},
	'`': {`<code class="bk-code">`, `</code>`},
}

// format draws items, turning *bold*, _italic_, ~strike~ and `code` into
// markup where Slack would: a mark opens after a boundary and before a
// non-space, and closes after a non-space and before a boundary.
func format(items []item) string {
	var b strings.Builder
	for i := 0; i < len(items); {
		it := items[i]
		if tags, ok := marks[it.r]; ok && it.atom == "" && (i == 0 || items[i-1].boundary()) && i+1 < len(items) && !items[i+1].space() && items[i+1].r != it.r {
			if j := closer(items, i); j > 0 {
				inner := items[i+1 : j]
				b.WriteString(tags[0])
				if it.r == '`' {
					for _, x := range inner {
						b.WriteString(x.html())
					}
				} else {
					b.WriteString(format(inner))
				}
				b.WriteString(tags[1])
				i = j + 1
				continue
			}
		}
		b.WriteString(it.html())
		i++
	}
	return b.String()
}

func closer(items []item, i int) int {
	m := items[i].r
	for k := i + 2; k < len(items); k++ {
		if items[k].atom == "" && items[k].r == m && !items[k-1].space() && (k+1 == len(items) || items[k+1].boundary()) {
			return k
		}
	}
	return -1
}
