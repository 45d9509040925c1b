// Package message renders a canonical event as a Slack message: Block Kit
// blocks built with slack-go's types and a short notification text, within
// Slack's limits, with every string from GitHub cleaned of control and
// bidirectional characters, escaped, and unable to format, link or
// mention. Mentions come only from the routes file's people map and a
// route's mention list (Options). It does no I/O.
package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/slack-go/slack"
)

// Message is a Slack message: the notification text and the Block Kit
// blocks.
type Message struct {
	Text   string       `json:"text"`
	Blocks slack.Blocks `json:"blocks"`
	// Layout names the layout that rendered the message.
	Layout string `json:"-"`
}

// MarshalIndent returns the message as indented JSON, as Slack receives it.
func (m Message) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding slack message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// People resolves GitHub identities to Slack IDs (the routes file's
// people map).
type People interface {
	// User returns the Slack member ID of a GitHub login.
	User(login string) (id string, ok bool)
	// Team returns the Slack user group ID of team slug of organization org.
	Team(org, slug string) (id string, ok bool)
}

// Options are what a message may mention besides the event's own text.
type Options struct {
	// People maps requested reviewers, assignees and teams to Slack IDs;
	// nil mentions nobody and shows every login as plain @login.
	People People
	// Mention are Slack IDs (U…, W…, S…) the message mentions as well.
	Mention []string
}

// card is what a layout fills in; build turns it into blocks.
type card struct {
	// header is raw text, cleaned, escaped and cut to the header limit.
	header string
	// lines are mrkdwn lines already escaped.
	lines []string
	// quote is raw text shown as a block quote, escaped and shortened.
	quote string
	// list are further mrkdwn lines (commits, alerts) in sections of
	// their own; more counts items left out of it ("and N more").
	list []string
	more int
	// context are mrkdwn context elements already escaped.
	context []string
	// fallback is the raw notification text.
	fallback string
	// mentions are the Slack mentions (<@U…>) a route adds, shown on a
	// line of their own.
	mentions []string
}

const quoteLimit = 600

// maxListBlocks caps the sections a list may take.
const maxListBlocks = 5

// Render returns the message for ev, choosing the layout for its kind,
// mentioning nobody.
func Render(ev *event.Event) Message { return RenderWith(ev, Options{}) }

// RenderWith returns the message for ev, mentioning the people opts maps
// and the IDs it lists.
func RenderWith(ev *event.Event, opts Options) Message {
	v := newView(ev, opts)
	name, fn := layoutFor(v)
	c := fn(v)
	for _, id := range opts.Mention {
		if m := slackMention(id); m != "" {
			c.mentions = appendNew(c.mentions, m)
		}
	}
	m := build(c, append(append([]string(nil), v.notify...), c.mentions...))
	m.Layout = name
	return m
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func build(c card, notify []string) Message {
	var blocks []slack.Block
	if c.header != "" {
		blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Fit(c.header, MaxHeaderText), true, false)))
	}
	lines := append([]string(nil), c.lines...)
	if q := strings.TrimSpace(c.quote); q != "" {
		for _, l := range strings.Split(paragraph(q, quoteLimit), "\n") {
			lines = append(lines, "> "+l)
		}
	}
	if len(c.mentions) > 0 {
		lines = append(lines, "cc "+strings.Join(capMentions(c.mentions, 1000), " "))
	}
	if len(lines) > 0 {
		blocks = append(blocks, section(clampLines(lines, MaxSectionText)))
	}
	// The list gets sections of its own, split at the section limit and
	// capped so the message stays short; what is left out is counted.
	more := c.more
	used := 0
	for rest := c.list; len(rest) > 0; {
		if used == maxListBlocks {
			more += len(rest)
			break
		}
		var chunk []string
		n := 0
		for len(rest) > 0 && n+Len(rest[0])+1 <= MaxSectionText-40 {
			n += Len(rest[0]) + 1
			chunk = append(chunk, rest[0])
			rest = rest[1:]
		}
		if len(chunk) == 0 {
			chunk, rest = rest[:1], rest[1:]
		}
		blocks = append(blocks, section(clampLines(chunk, MaxSectionText-40)))
		used++
	}
	if more > 0 {
		if used > 0 {
			last := blocks[len(blocks)-1].(*slack.SectionBlock)
			last.Text.Text += fmt.Sprintf("\n_and %d more_", more)
		} else {
			blocks = append(blocks, section(fmt.Sprintf("_and %d more_", more)))
		}
	}
	if len(c.context) > 0 {
		els := make([]slack.MixedElement, 0, MaxContextElements)
		for _, t := range c.context {
			if t == "" || len(els) == MaxContextElements {
				continue
			}
			els = append(els, mrkdwn(clampLines([]string{t}, MaxSectionText)))
		}
		if len(els) > 0 {
			blocks = append(blocks, slack.NewContextBlock("", els...))
		}
	}
	if len(blocks) > MaxBlocks {
		blocks = blocks[:MaxBlocks]
	}
	return Message{Text: notification(c, notify), Blocks: slack.Blocks{BlockSet: blocks}}
}

// notification is the message's top-level text, which phones show: the
// mentions first, then the fallback, within MaxNotificationText.
func notification(c card, notify []string) string {
	var ms []string
	for _, m := range notify {
		ms = appendNew(ms, m)
	}
	prefix := ""
	if len(ms) > 0 {
		prefix = strings.Join(capMentions(ms, MaxNotificationText/2), " ") + " "
	}
	text := c.fallback
	if strings.TrimSpace(text) == "" {
		text = c.header
	}
	return prefix + Text(text, MaxNotificationText-Len(prefix))
}

// capMentions keeps the mentions that fit in n units, the rest counted.
func capMentions(ms []string, n int) []string {
	var out []string
	used := 0
	for i, m := range ms {
		if used+Len(m)+1 > n {
			return append(out, fmt.Sprintf("+%d", len(ms)-i))
		}
		out = append(out, m)
		used += Len(m) + 1
	}
	return out
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil)
}

// mrkdwn is a verbatim mrkdwn text object: Slack turns no bare URL,
// #channel or @name of GitHub's text into a link or a mention; only the
// message's own <url|text> links and configured mentions are.
func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

// slackMention returns the mention of a Slack ID, "" for anything that
// is not one: member IDs (U…, W…) become <@ID>, user groups (S…)
// <!subteam^ID>.
func slackMention(id string) string {
	if len(id) < 3 || len(id) > 21 {
		return ""
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return ""
		}
	}
	switch id[0] {
	case 'U', 'W':
		return "<@" + id + ">"
	case 'S':
		return "<!subteam^" + id + ">"
	}
	return ""
}
