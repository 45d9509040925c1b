// Package slack is the sink's Slack adapter: the destination types
// webhook (an incoming webhook), channel (chat.postMessage with a bot
// token, the only one that threads) and console (readable lines on the
// sink's standard output). Each parses its fields of the routes file and
// posts through deliver.Poster: messages are rendered with Block Kit
// (message/), sent by the clients of slackapi/, and Slack's failures are
// mapped to the engine's classes; a thread is Slack's message ts.
package slack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/slackapi"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/event"
)

// Webhook is the destination type `webhook: URL`.
type Webhook struct {
	HTTP *http.Client
}

// Keys lists no key besides webhook.
func (Webhook) Keys() []string { return nil }

// Threads is false: an incoming webhook cannot reply in a thread.
func (Webhook) Threads() bool { return false }

// Parse reads the webhook URL.
func (t Webhook) Parse(f *routes.Fields) any {
	url := f.String("webhook")
	if url != "" && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		f.Errorf("webhook", "webhook must be an https:// URL")
	}
	return poster{&slackapi.WebhookClient{HTTP: t.HTTP, URL: config.Secret(url)}}
}

// Channel is the destination type `channel: ID` with `token`.
type Channel struct {
	HTTP *http.Client
	// APIURL is Slack's Web API base (SLACK_API_URL).
	APIURL string
	// DefaultToken is the token of channels that name none (SLACK_BOT_TOKEN).
	DefaultToken config.Secret
}

// Keys lists token.
func (Channel) Keys() []string { return []string{"token"} }

// Threads is true: later events of an issue or pull request can reply
// in the thread of its first message.
func (Channel) Threads() bool { return true }

// Parse reads the channel and its token.
func (t Channel) Parse(f *routes.Fields) any {
	c := &slackapi.BotClient{HTTP: t.HTTP, APIURL: t.APIURL, Channel: f.String("channel"), Token: f.Secret("token")}
	if !c.Token.IsSet() {
		c.Token = t.DefaultToken
	}
	if !c.Token.IsSet() {
		if f.Lenient() {
			f.Warnf("", "no token and SLACK_BOT_TOKEN is not set")
		} else {
			f.Errorf("", "a channel destination needs a token (token: ${NAME} or SLACK_BOT_TOKEN)")
		}
	}
	return poster{c}
}

// poster posts the Block Kit message of an event through a Slack client.
type poster struct {
	c slackapi.Poster
}

// Post renders ev and posts it, in thread th when it names one.
func (p poster) Post(ctx context.Context, ev *event.Event, th deliver.Thread) (string, error) {
	resp, err := p.c.Post(ctx, slackapi.Request{Message: message.RenderWith(ev, RenderOptions(th.Mentions)), ThreadTS: th.ID, ReplyBroadcast: th.Broadcast})
	if err != nil {
		return "", classify(err)
	}
	return resp.TS, nil
}

// Preview returns the Block Kit message ev is posted as, as Slack
// receives it (ghnotify routes test).
func (poster) Preview(ev *event.Event) ([]byte, error) { return message.Render(ev).MarshalIndent() }

// PreviewWith is Preview with the mentions of the route that sends ev.
func (poster) PreviewWith(ev *event.Event, m routes.Mentions) ([]byte, error) {
	return message.RenderWith(ev, RenderOptions(m)).MarshalIndent()
}

// RenderOptions are the message options of a route's mentions: the
// people map resolves reviewers and assignees, Extra is mentioned as is.
func RenderOptions(m routes.Mentions) message.Options {
	o := message.Options{Mention: m.Extra}
	if m.People != nil {
		o.People = m.People
	}
	return o
}

// classify hands Slack's failure to the engine with its class.
func classify(err error) error {
	var se *slackapi.Error
	if !errors.As(err, &se) {
		return deliver.Fail(deliver.Transient, err)
	}
	return &deliver.Error{Class: se.Class, RetryAfter: se.RetryAfter, Err: se}
}

// Console is the destination type `console: true`: readable lines on W,
// without a rate limit unless the destination sets one.
type Console struct {
	W io.Writer
	// Inbox, when set, also keeps each message as Slack would show it,
	// for the web console.
	Inbox *Inbox
}

// Keys lists no key besides console.
func (Console) Keys() []string { return nil }

// Threads is false.
func (Console) Threads() bool { return false }

// Parse checks that console is true.
func (t Console) Parse(f *routes.Fields) any {
	if !f.Bool("console") {
		f.Errorf("console", "console must be true (or the destination removed)")
	}
	f.Unlimited()
	return consolePoster{w: t.W, inbox: t.Inbox, name: f.Name()}
}

// consoleMu keeps the lines of concurrent console posts apart: every
// console destination writes to the one standard output.
var consoleMu sync.Mutex

// consolePoster prints an event readably instead of posting it: what a
// newcomer sees without any Slack configuration.
type consolePoster struct {
	w     io.Writer
	inbox *Inbox
	name  string
}

// Preview returns the Slack message of ev, which ghnotify routes test
// shows for a console destination as for the others.
func (consolePoster) Preview(ev *event.Event) ([]byte, error) {
	return message.Render(ev).MarshalIndent()
}

// PreviewWith is Preview with the mentions of the route that sends ev.
func (consolePoster) PreviewWith(ev *event.Event, m routes.Mentions) ([]byte, error) {
	return message.RenderWith(ev, RenderOptions(m)).MarshalIndent()
}

// Post writes the event's notification lines.
func (c consolePoster) Post(_ context.Context, ev *event.Event, _ deliver.Thread) (string, error) {
	consoleMu.Lock()
	defer consoleMu.Unlock()
	w := c.w
	if w == nil {
		w = io.Discard
	}
	if _, err := io.WriteString(w, ConsoleLines(ev)); err != nil {
		return "", deliver.Fail(deliver.Transient, errors.New("writing to console: "+err.Error()))
	}
	if c.inbox != nil {
		b, err := c.Preview(ev)
		if err != nil {
			return "", deliver.Fail(deliver.Permanent, err)
		}
		c.inbox.Add(InboxMessage{EventID: ev.ID, Kind: ev.Data.Kind, Destination: c.name, Message: b})
	}
	return "", nil
}
