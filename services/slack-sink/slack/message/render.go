// Package message renders a canonical event as a Slack message: Block Kit
// blocks built with slack-go's types and a plain text fallback, within
// Slack's limits, with every string from GitHub escaped. It does no I/O.
package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/slack-go/slack"
)

// Message is a Slack message: the fallback text shown in notifications and
// the Block Kit blocks.
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

// card is what a layout fills in; build turns it into blocks.
type card struct {
	// header is raw text, escaped and cut to the header limit.
	header string
	// lines are mrkdwn lines already escaped.
	lines []string
	// quote is raw text shown as a block quote, escaped and shortened.
	quote string
	// context are mrkdwn context elements already escaped.
	context []string
	// list are further mrkdwn lines (commits) shown in their own section.
	list []string
	// fallback is the raw notification text.
	fallback string
}

const quoteLimit = 600

// Render returns the message for ev, choosing the layout for its kind.
func Render(ev *event.Event) Message {
	name, fn := layoutFor(ev)
	c := fn(ev)
	m := build(c)
	m.Layout = name
	return m
}

func build(c card) Message {
	var blocks []slack.Block
	if c.header != "" {
		blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Fit(c.header, MaxHeaderText), true, false)))
	}
	lines := append([]string(nil), c.lines...)
	if q := strings.TrimSpace(c.quote); q != "" {
		var ql []string
		for _, l := range strings.Split(Fit(q, quoteLimit), "\n") {
			ql = append(ql, "> "+l)
		}
		lines = append(lines, ql...)
	}
	if len(lines) > 0 {
		blocks = append(blocks, section(clampLines(lines, MaxSectionText)))
	}
	// The commit list gets sections of its own, split at the section limit
	// and capped so the message stays within the block limit.
	for rest := c.list; len(rest) > 0; {
		var chunk []string
		used := 0
		for len(rest) > 0 && used+len([]rune(rest[0]))+1 <= MaxSectionText {
			used += len([]rune(rest[0])) + 1
			chunk = append(chunk, rest[0])
			rest = rest[1:]
		}
		if len(chunk) == 0 {
			chunk, rest = rest[:1], rest[1:]
		}
		if len(blocks) >= MaxBlocks-2 {
			blocks = append(blocks, section(fmt.Sprintf("%s and %d more", Ellipsis, len(rest)+len(chunk))))
			break
		}
		blocks = append(blocks, section(clampLines(chunk, MaxSectionText)))
	}
	if len(c.context) > 0 {
		els := make([]slack.MixedElement, 0, MaxContextElements)
		for _, t := range c.context {
			if t == "" || len(els) == MaxContextElements {
				continue
			}
			els = append(els, slack.NewTextBlockObject(slack.MarkdownType, clampLines([]string{t}, MaxSectionText), false, false))
		}
		blocks = append(blocks, slack.NewContextBlock("", els...))
	}
	if len(blocks) > MaxBlocks {
		blocks = blocks[:MaxBlocks]
	}
	return Message{Text: Fit(c.fallback, MaxFallbackText), Blocks: slack.Blocks{BlockSet: blocks}}
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}
