// Package slackapi posts messages to Slack through an incoming webhook or
// chat.postMessage, keeping Slack's error reason and classifying each
// failure as rate limited, retryable or permanent. Secrets (webhook URLs,
// tokens) never appear in its errors.
package slackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/slack-go/slack"
)

// Request is one message to post.
type Request struct {
	Message message.Message
	// ThreadTS posts the message as a reply in that thread (bot tokens only).
	ThreadTS string
	// ReplyBroadcast also shows a thread reply in the channel.
	ReplyBroadcast bool
}

// Response is what Slack answered to a successful post.
type Response struct {
	// TS is the message's timestamp (chat.postMessage only), which later
	// replies use as thread_ts.
	TS string
}

// Class says what to do about a failed post: the delivery engine's
// classes, so that the adapter passes them on unchanged.
type Class = deliver.Class

// Failure classes.
const (
	// Retryable failures (5xx, network) are retried with backoff.
	Retryable = deliver.Transient
	// RateLimited failures are retried after RetryAfter.
	RateLimited = deliver.RateLimited
	// Permanent failures are not retried: the message is dead-lettered.
	Permanent = deliver.Permanent
)

// Error is a failed post with Slack's reason.
type Error struct {
	Class Class
	// Status is the HTTP status, 0 for a network error.
	Status int
	// Reason is Slack's error code or body, or the network error.
	Reason string
	// RetryAfter is Slack's Retry-After for a rate-limited post.
	RetryAfter time.Duration
}

// Error returns the failure with Slack's reason and never the webhook URL
// or the token.
func (e *Error) Error() string {
	if e.Status == 0 {
		return "posting to slack: " + e.Reason
	}
	return fmt.Sprintf("posting to slack: HTTP %d: %s", e.Status, e.Reason)
}

// Poster posts one message.
type Poster interface {
	Post(ctx context.Context, r Request) (Response, error)
}

// NewHTTPClient returns a client with a timeout that never follows
// redirects: a Slack endpoint that redirects is a failure, not a hop.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// WebhookClient posts to an incoming webhook URL.
type WebhookClient struct {
	HTTP *http.Client
	URL  config.Secret
}

type webhookBody struct {
	Text        string       `json:"text"`
	Blocks      slack.Blocks `json:"blocks"`
	UnfurlLinks bool         `json:"unfurl_links"`
	UnfurlMedia bool         `json:"unfurl_media"`
}

// Post sends the message; Slack answers 200 "ok".
func (c *WebhookClient) Post(ctx context.Context, r Request) (Response, error) {
	body, err := json.Marshal(webhookBody{Text: r.Message.Text, Blocks: r.Message.Blocks})
	if err != nil {
		return Response{}, &Error{Class: Permanent, Reason: "encoding message: " + err.Error()}
	}
	resp, data, err := do(ctx, c.HTTP, c.URL.Reveal(), "", body)
	if err != nil {
		return Response{}, err
	}
	if resp.StatusCode == http.StatusOK {
		return Response{}, nil
	}
	return Response{}, classify(resp, reasonOf(data, resp.Status))
}

// BotClient posts with chat.postMessage and a bot token.
type BotClient struct {
	HTTP *http.Client
	// APIURL is Slack's Web API base, https://slack.com/api/.
	APIURL  string
	Token   config.Secret
	Channel string
}

type postMessageBody struct {
	Channel        string       `json:"channel"`
	Text           string       `json:"text"`
	Blocks         slack.Blocks `json:"blocks"`
	ThreadTS       string       `json:"thread_ts,omitempty"`
	ReplyBroadcast bool         `json:"reply_broadcast,omitempty"`
	UnfurlLinks    bool         `json:"unfurl_links"`
	UnfurlMedia    bool         `json:"unfurl_media"`
}

type apiAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	TS    string `json:"ts"`
}

// rateLimitedAPIErrors are ok:false codes that mean "slow down": the post
// is retried after Retry-After (1 s when Slack sends none).
var rateLimitedAPIErrors = map[string]bool{"ratelimited": true, "rate_limited": true}

// retryableAPIErrors are ok:false codes worth another try with backoff;
// every other ok:false code is permanent.
var retryableAPIErrors = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
}

// Post sends the message to the client's channel.
func (c *BotClient) Post(ctx context.Context, r Request) (Response, error) {
	body, err := json.Marshal(postMessageBody{
		Channel: c.Channel, Text: r.Message.Text, Blocks: r.Message.Blocks,
		ThreadTS: r.ThreadTS, ReplyBroadcast: r.ReplyBroadcast && r.ThreadTS != "",
	})
	if err != nil {
		return Response{}, &Error{Class: Permanent, Reason: "encoding message: " + err.Error()}
	}
	base := c.APIURL
	if base == "" {
		base = "https://slack.com/api/"
	}
	resp, data, err := do(ctx, c.HTTP, strings.TrimSuffix(base, "/")+"/chat.postMessage", c.Token.Reveal(), body)
	if err != nil {
		return Response{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Response{}, classify(resp, reasonOf(data, resp.Status))
	}
	var a apiAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return Response{}, &Error{Class: Retryable, Status: resp.StatusCode, Reason: "unreadable answer: " + reasonOf(data, "")}
	}
	if a.OK {
		return Response{TS: a.TS}, nil
	}
	e := &Error{Class: Permanent, Status: resp.StatusCode, Reason: a.Error}
	switch {
	case rateLimitedAPIErrors[a.Error]:
		// Slack answers ratelimited with HTTP 200 as well as with 429.
		e.Class = RateLimited
		e.RetryAfter, _ = retryAfter(resp)
	case retryableAPIErrors[a.Error]:
		e.Class = Retryable
		if d, ok := retryAfter(resp); ok {
			e.Class, e.RetryAfter = RateLimited, d
		}
	}
	return Response{}, e
}

func do(ctx context.Context, hc *http.Client, target, token string, body []byte) (*http.Response, []byte, error) {
	if hc == nil {
		hc = NewHTTPClient(10 * time.Second)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, &Error{Class: Permanent, Reason: "building request: invalid URL"}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error carries the URL, which for a webhook is the secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, &Error{Class: Retryable, Reason: "request failed: " + err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, &Error{Class: Retryable, Status: resp.StatusCode, Reason: "reading answer: " + err.Error()}
	}
	return resp, data, nil
}

func reasonOf(data []byte, def string) string {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return def
	}
	var a apiAnswer
	if json.Unmarshal(data, &a) == nil && a.Error != "" {
		return a.Error
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func classify(resp *http.Response, reason string) *Error {
	e := &Error{Status: resp.StatusCode, Reason: reason}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Class = RateLimited
		e.RetryAfter, _ = retryAfter(resp)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout:
		e.Class = Retryable
	default:
		e.Class = Permanent
	}
	return e
}

// retryAfter reads Retry-After in seconds (default 1 s when absent).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return time.Second, resp.StatusCode == http.StatusTooManyRequests
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return time.Second, true
	}
	return time.Duration(n) * time.Second, true
}
