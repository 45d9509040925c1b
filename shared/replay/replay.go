// Package replay names the headers that mark a message published again on
// purpose: a replayed raw delivery or event, or a redriven dead letter.
//
// A replayed message carries Ghnotify-Replay (the replay's id) and a fresh
// Nats-Msg-Id derived from its original id and the replay id, so the
// stream's duplicate window does not drop it. The normalizer copies both
// replay headers onto the events it yields; the sink keeps a sent record per
// (event, destination, replay id), so one replay posts once even when
// redelivered, and a second replay (with another id) posts again.
package replay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers of a replayed message.
const (
	// HeaderID is the replay's id: one id per replay run or redrive.
	HeaderID = "Ghnotify-Replay"
	// HeaderTo limits the sink to one destination of the event.
	HeaderTo = "Ghnotify-Replay-To"
)

// ID returns the replay id of a message, "" for an original one.
func ID(h nats.Header) string {
	if h == nil {
		return ""
	}
	return strings.TrimSpace(h.Get(HeaderID))
}

// To returns the destination a replayed message is limited to, "" for all.
func To(h nats.Header) string {
	if h == nil {
		return ""
	}
	return strings.TrimSpace(h.Get(HeaderTo))
}

// MsgID returns the Nats-Msg-Id of a replayed copy of the message whose
// own id is original.
func MsgID(original, id string) string {
	return original + "/replay/" + id
}

// NewID returns a fresh replay id: the time and 6 random bytes, such as
// r20260504T120000-1a2b3c4d5e6f.
func NewID(now time.Time) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating replay id: %w", err)
	}
	return "r" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id can be a replay id: 1 to 64 bytes of
// [A-Za-z0-9_-], so that it is one token of a key and of a message id.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
