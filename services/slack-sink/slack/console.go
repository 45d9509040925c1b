package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

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

// InboxMessage is one message a console destination posted.
type InboxMessage struct {
	// Seq numbers the messages of an inbox from 1, in the order posted.
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// EventID, Kind and Destination say what was posted where.
	EventID     string `json:"event_id"`
	Kind        string `json:"kind"`
	Destination string `json:"destination"`
	// Message is the Slack message as Slack would receive it (JSON).
	Message json.RawMessage `json:"message"`
}

// Inbox keeps the most recent messages the console destinations posted,
// in memory, and tells subscribers of each new one: what the web console's
// inbox shows when no Slack is configured.
type Inbox struct {
	mu   sync.Mutex
	max  int
	msgs []InboxMessage // oldest first
	seq  uint64
	subs map[chan InboxMessage]struct{}
	now  func() time.Time
}

// NewInbox returns an inbox keeping the last limit messages (at least 1).
func NewInbox(limit int) *Inbox {
	return &Inbox{max: max(limit, 1), subs: map[chan InboxMessage]struct{}{}, now: time.Now}
}

// Add keeps m, numbered and stamped, and hands it to every subscriber
// that has room for it (a subscriber too slow to keep up misses it, and
// sees it in Recent).
func (in *Inbox) Add(m InboxMessage) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq++
	m.Seq, m.At = in.seq, in.now().UTC()
	in.msgs = append(in.msgs, m)
	if len(in.msgs) > in.max {
		in.msgs = append(in.msgs[:0:0], in.msgs[len(in.msgs)-in.max:]...)
	}
	for ch := range in.subs {
		select {
		case ch <- m:
		default:
		}
	}
}

// Recent returns the messages kept, newest first.
func (in *Inbox) Recent() []InboxMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]InboxMessage, len(in.msgs))
	for i, m := range in.msgs {
		out[len(in.msgs)-1-i] = m
	}
	return out
}

// Subscribe returns a channel receiving each message added from now on,
// and the function that ends the subscription.
func (in *Inbox) Subscribe() (<-chan InboxMessage, func()) {
	ch := make(chan InboxMessage, 16)
	in.mu.Lock()
	in.subs[ch] = struct{}{}
	in.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			in.mu.Lock()
			delete(in.subs, ch)
			in.mu.Unlock()
		})
	}
}
