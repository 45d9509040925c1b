// Package signedhttp is the destination type `http: URL`: each event is
// POSTed to the URL as its CloudEvent in structured JSON mode
// (Content-Type: application/cloudevents+json, the body exactly as the
// events stream holds it), signed GitHub-style with HMAC SHA-256 of the
// raw body under the destination's secret. The receiver's answer is
// mapped to the engine's classes: 2xx delivered; 429, and 503 with
// Retry-After, rate limited; 408, other 5xx and network errors transient;
// any other answer (3xx included: redirects are not followed) permanent.
// Neither the URL nor the secret appears in errors.
package signedhttp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/event"
)

// Headers of a post besides Content-Type.
const (
	// HeaderSignature is "sha256=" and the hex HMAC SHA-256 of the raw
	// body under the destination's secret.
	HeaderSignature = "X-Ghnotify-Signature-256"
	// HeaderEventID is the event's id, the same in every redelivery: a
	// receiver dedupes by it.
	HeaderEventID = "X-Ghnotify-Event-Id"
	// HeaderDelivery is the GitHub delivery the event came from.
	HeaderDelivery = "X-Ghnotify-Delivery"
)

// Type is the destination type `http: URL` with `secret: ${NAME}`.
type Type struct {
	// HTTP sends the posts; it should time out and not follow redirects.
	// Nil means a client doing both (10 s).
	HTTP *http.Client
}

// fallback is the client of a Type without one.
var fallback = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Keys lists secret.
func (Type) Keys() []string { return []string{"secret"} }

// Threads is false.
func (Type) Threads() bool { return false }

var secretRefRE = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// Parse reads the URL and the secret, which must come from the
// environment (${NAME}) so that it stays out of the file.
func (t Type) Parse(f *routes.Fields) any {
	p := &Poster{HTTP: t.HTTP, URL: f.Secret("http")}
	if p.HTTP == nil {
		p.HTTP = fallback
	}
	if u := p.URL.Reveal(); u != "" {
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			f.Errorf("http", "http must be an https:// URL")
		}
	}
	switch {
	case !f.Has("secret"):
		f.Errorf("", "an http destination needs a secret (secret: ${NAME})")
	case !secretRefRE.MatchString(strings.TrimSpace(f.Raw("secret"))):
		f.Errorf("secret", "secret must be one environment variable, such as ${HOOK_SECRET}, so it stays out of the file")
	default:
		p.Secret = f.Secret("secret")
	}
	return p
}

// Poster posts events to one URL.
type Poster struct {
	HTTP   *http.Client
	URL    config.Secret
	Secret config.Secret
}

// Sign returns the signature header's value for body: "sha256=" and the
// hex HMAC SHA-256 of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Preview returns the CloudEvent ev is posted as (ghnotify routes test).
func (p *Poster) Preview(ev *event.Event) ([]byte, error) { return event.Marshal(ev) }

// Post sends ev as a signed CloudEvent.
func (p *Poster) Post(ctx context.Context, ev *event.Event, _ deliver.Thread) (string, error) {
	body, err := event.Marshal(ev)
	if err != nil {
		return "", deliver.Fail(deliver.Permanent, fmt.Errorf("encoding event: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return "", deliver.Fail(deliver.Permanent, errors.New("posting to http destination: building request: invalid URL"))
	}
	req.Header.Set("Content-Type", event.MessageContentType)
	req.Header.Set(HeaderSignature, Sign([]byte(p.Secret.Reveal()), body))
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderDelivery, ev.Data.DeliveryID)
	req.Header.Set("User-Agent", "ghnotify-slack-sink")
	hc := p.HTTP
	if hc == nil {
		hc = fallback
	}
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error carries the URL, which may hold a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", deliver.Fail(deliver.Transient, fmt.Errorf("posting to http destination: request failed: %v", err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return "", nil
	}
	return "", classify(resp, data)
}

// classify maps a receiver's non-2xx answer to the engine's classes.
func classify(resp *http.Response, data []byte) error {
	reason := strings.TrimSpace(string(data))
	if len(reason) > 200 {
		reason = reason[:200]
	}
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("posting to http destination: HTTP %d: %s", resp.StatusCode, reason)
	wait, hasWait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return deliver.Slow(err, wait)
	case resp.StatusCode == http.StatusServiceUnavailable && hasWait:
		return deliver.Slow(err, wait)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout:
		return deliver.Fail(deliver.Transient, err)
	}
	return deliver.Fail(deliver.Permanent, err)
}

// MaxRetryAfter caps the pause a receiver can ask for: events waiting
// for a paused destination hold their in-flight slots in the sink.
const MaxRetryAfter = 10 * time.Minute

// retryAfter reads Retry-After in seconds or as an HTTP date, within
// [0, MaxRetryAfter]; 1 s when absent or unreadable, with false when absent.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Second, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(n, 0), int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), MaxRetryAfter), true
	}
	return time.Second, true
}
