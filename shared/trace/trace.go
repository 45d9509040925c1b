// Package trace records what each stage did with each delivery: one fact
// (a Record under a Key) per stage outcome, stored as one message in the
// GHNOTIFY_TRACE stream. The subject of a fact is not the delivery's own:
// ghnotify.trace.<shard>, one of 256 shards chosen by a hash of the
// delivery id, so the server keeps no state per delivery (a key-value
// bucket keeps about 230 bytes of memory per key, which at a million
// deliveries is most of the process). The delivery id and the key travel
// in the message's headers.
//
// Keys are <delivery>.<stage>[.<part>...], each part encoded by KeyPart; a
// fact stored again under the same key supersedes the earlier one.
package trace

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
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
