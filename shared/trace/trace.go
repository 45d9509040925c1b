// Package trace records what each stage did with each delivery, in one place
// per delivery id: the ghnotify_trace key-value bucket. Every record of a
// delivery has a key that starts with the delivery's key, so
// `nats kv ls ghnotify_trace` and a delivery-trace command find them all.
//
// Keys are <delivery>.<stage>[.<part>...], each part encoded by KeyPart.
package trace

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stages.
const (
	StageGateway    = "gateway"
	StageNormalizer = "normalizer"
	StageSink       = "slack-sink"
)

// Outcomes.
const (
	OutcomeStored       = "stored"
	OutcomeDuplicate    = "duplicate"
	OutcomeNormalized   = "normalized"
	OutcomeDeadLettered = "dead_lettered"
	OutcomePosted       = "posted"
	OutcomeSkipped      = "skipped"
	OutcomeFailed       = "failed"
	// OutcomeHeld: the sink holds the event until its destination's quiet
	// hours end; its reason says until when.
	OutcomeHeld = "held"
	// OutcomeDigested: the sink collected the event into a digest; its
	// reason names the digest and when it is posted.
	OutcomeDigested = "digested"
)

// Record is one stage's outcome for one delivery (and, at the sink, one
// event and destination). RawSequence and ReceivedAt, set by the normalizer,
// say where in the raw stream and when the gateway stored the delivery.
type Record struct {
	Stage       string    `json:"stage"`
	DeliveryID  string    `json:"delivery_id"`
	Event       string    `json:"event,omitempty"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	Kinds       []string  `json:"kinds,omitempty"`
	Subjects    []string  `json:"subjects,omitempty"`
	EventID     string    `json:"event_id,omitempty"`
	Route       string    `json:"route,omitempty"`
	Destination string    `json:"destination,omitempty"`
	RawSequence uint64    `json:"raw_sequence,omitempty"`
	ReceivedAt  time.Time `json:"received_at,omitzero"`
	// SlackTS is the Slack message timestamp of a post, when Slack gave one.
	SlackTS string `json:"slack_ts,omitempty"`
	// Replay is the replay id of a replayed delivery or event (see
	// shared/replay); its records have keys of their own.
	Replay string    `json:"replay,omitempty"`
	At     time.Time `json:"at"`
}

// KeyPart encodes s as one token of a key-value key: unchanged when it is
// made of [A-Za-z0-9_-] only, otherwise "=" followed by its unpadded
// base64url form. The encoding is unambiguous and reversible.
func KeyPart(s string) string {
	ok := s != ""
	for i := 0; i < len(s) && ok; i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if ok {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeKeyPart reverses KeyPart.
func DecodeKeyPart(p string) (string, error) {
	enc, ok := strings.CutPrefix(p, "=")
	if !ok {
		return p, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("decoding key part %q: %w", p, err)
	}
	return string(b), nil
}

// Key returns the key of a record: the delivery, the stage and any further parts.
func Key(deliveryID, stage string, parts ...string) string {
	k := KeyPart(deliveryID) + "." + KeyPart(stage)
	for _, p := range parts {
		k += "." + KeyPart(p)
	}
	return k
}

// Store reads and writes records in the trace bucket.
type Store struct {
	KV jetstream.KeyValue
}

// Put writes rec under key, stamping At when it is zero.
func (s *Store) Put(ctx context.Context, key string, rec Record) error {
	if rec.At.IsZero() {
		rec.At = time.Now().UTC()
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding trace record: %w", err)
	}
	if _, err := s.KV.Put(ctx, key, b); err != nil {
		return fmt.Errorf("writing trace record %s: %w", key, err)
	}
	return nil
}

// List returns every record of a delivery, oldest first.
func (s *Store) List(ctx context.Context, deliveryID string) ([]Record, error) {
	lister, err := s.KV.ListKeysFiltered(ctx, KeyPart(deliveryID)+".>")
	if err != nil {
		return nil, fmt.Errorf("listing trace of %s: %w", deliveryID, err)
	}
	var out []Record
	for key := range lister.Keys() {
		e, err := s.KV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading trace record %s: %w", key, err)
		}
		var r Record
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return nil, fmt.Errorf("decoding trace record %s: %w", key, err)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
