// Package delivery defines the raw delivery message: how the gateway writes a
// GitHub webhook delivery to the raw stream and how the normalizer reads it.
//
// The message is published on github.raw.<event> with the JSON payload as its
// body (or a rawbody reference for large bodies), Nats-Msg-Id set to the
// delivery id, and the headers below.
package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a raw delivery message. GitHub's own headers keep GitHub's names.
const (
	HeaderEvent      = "X-GitHub-Event"
	HeaderDelivery   = "X-GitHub-Delivery"
	HeaderHookID     = "X-GitHub-Hook-ID"
	HeaderTargetType = "X-GitHub-Hook-Installation-Target-Type"
	HeaderTargetID   = "X-GitHub-Hook-Installation-Target-ID"
	HeaderBodyKey    = "Ghnotify-Body-Key"
	HeaderReceivedAt = "Ghnotify-Received-At"
	// HeaderContentSHA256 (the hex SHA-256 of the payload) is what
	// versions before Ghnotify-Body-Key wrote to identify the body; it is
	// still read from the messages they stored.
	HeaderContentSHA256 = "Ghnotify-Content-Sha256"
)

// Delivery is one GitHub webhook delivery as stored in the raw stream.
type Delivery struct {
	Event      string
	ID         string
	HookID     string
	TargetType string
	TargetID   string
	// BodyKey identifies the body for the gateway's body dedupe, in hex:
	// SHA-256 over a label and the body's HMAC under the gateway's first
	// webhook secret (the hex SHA-256 of the payload when the gateway
	// checks no signature). It is neither a signature nor a digest of the
	// payload alone.
	BodyKey string
	// SHA256 is the hex SHA-256 of the JSON payload, as written by older
	// versions (Ghnotify-Content-Sha256); the gateway no longer writes it.
	SHA256     string
	ReceivedAt time.Time
	// Body is the JSON payload (decoded from the form field when GitHub sent
	// the form content type).
	Body []byte
}

// Msg returns the NATS message for d, Nats-Msg-Id included.
func (d *Delivery) Msg() *nats.Msg {
	// The header values share one backing array (each a one-element slice
	// whose capacity ends with it, so appending to one copies it): one
	// allocation for them all instead of one each, on every stored delivery.
	vals := make([]string, 0, maxHeaders)
	h := make(nats.Header, maxHeaders)
	set := func(k, v string) {
		vals = append(vals, v)
		n := len(vals)
		h[k] = vals[n-1 : n : n]
	}
	setOptional := func(k, v string) {
		if v != "" {
			set(k, v)
		}
	}
	set(jetstream.MsgIDHeader, d.ID)
	set(HeaderEvent, d.Event)
	set(HeaderDelivery, d.ID)
	setOptional(HeaderHookID, d.HookID)
	setOptional(HeaderTargetType, d.TargetType)
	setOptional(HeaderTargetID, d.TargetID)
	setOptional(HeaderBodyKey, d.BodyKey)
	setOptional(HeaderContentSHA256, d.SHA256)
	if !d.ReceivedAt.IsZero() {
		set(HeaderReceivedAt, d.ReceivedAt.UTC().Format(time.RFC3339Nano))
	}
	return &nats.Msg{Subject: subject.Raw(d.Event), Header: h, Data: d.Body}
}

// maxHeaders is the size hint of Msg's header map and values: the headers
// of a delivery the gateway stores, at most eight (a Go map holds eight
// entries in its smallest form; a ninth, SHA256 set by a caller besides
// BodyKey, grows it).
const maxHeaders = 8

// FromMsg reads a Delivery back from a raw message's headers and body. The
// body may still be a rawbody reference; load it with rawbody.Load first
// where that matters.
func FromMsg(h nats.Header, body []byte) (Delivery, error) {
	d := Delivery{
		Event:      h.Get(HeaderEvent),
		ID:         h.Get(HeaderDelivery),
		HookID:     h.Get(HeaderHookID),
		TargetType: h.Get(HeaderTargetType),
		TargetID:   h.Get(HeaderTargetID),
		BodyKey:    h.Get(HeaderBodyKey),
		SHA256:     h.Get(HeaderContentSHA256),
		Body:       body,
	}
	if d.Event == "" {
		return d, errors.New("raw message has no " + HeaderEvent + " header")
	}
	if d.ID == "" {
		return d, errors.New("raw message has no " + HeaderDelivery + " header")
	}
	if v := h.Get(HeaderReceivedAt); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return d, fmt.Errorf("parsing %s %q: %w", HeaderReceivedAt, v, err)
		}
		d.ReceivedAt = t
	}
	return d, nil
}
