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
	m := nats.NewMsg(subject.Raw(d.Event))
	m.Data = d.Body
	m.Header.Set(jetstream.MsgIDHeader, d.ID)
	m.Header.Set(HeaderEvent, d.Event)
	m.Header.Set(HeaderDelivery, d.ID)
	if d.HookID != "" {
		m.Header.Set(HeaderHookID, d.HookID)
	}
	if d.TargetType != "" {
		m.Header.Set(HeaderTargetType, d.TargetType)
	}
	if d.TargetID != "" {
		m.Header.Set(HeaderTargetID, d.TargetID)
	}
	if d.BodyKey != "" {
		m.Header.Set(HeaderBodyKey, d.BodyKey)
	}
	if d.SHA256 != "" {
		m.Header.Set(HeaderContentSHA256, d.SHA256)
	}
	if !d.ReceivedAt.IsZero() {
		m.Header.Set(HeaderReceivedAt, d.ReceivedAt.UTC().Format(time.RFC3339Nano))
	}
	return m
}

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
