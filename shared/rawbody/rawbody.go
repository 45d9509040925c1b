// Package rawbody stores a raw delivery's body in the raw stream, inline when
// it fits in one NATS message and in the ghnotify_bodies object store
// otherwise, and loads it back for the normalizer. A server's max_payload is
// 1 MiB by default while GitHub sends up to 25 MiB, so this keeps every
// delivery storable on any NATS deployment.
package rawbody

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderRef names the object that holds the body of a raw message whose
// own body is empty.
const HeaderRef = "Ghnotify-Body-Ref"

// headroom is kept below max_payload for headers and protocol overhead.
const headroom = 64 << 10

// Fits reports whether a body of n bytes can travel inline on nc.
func Fits(nc *nats.Conn, n int) bool {
	return int64(n) <= nc.MaxPayload()-headroom
}

// Offload puts body into the object store under its SHA-256 and turns m into
// a reference to it: m.Data is emptied and HeaderRef set. The object is
// written before the message is published, so a published reference always
// resolves; an object whose message never got published expires with the
// store's TTL.
func Offload(ctx context.Context, js jetstream.JetStream, m *nats.Msg, body []byte) error {
	obs, err := js.ObjectStore(ctx, provision.ObjectBodies)
	if err != nil {
		return fmt.Errorf("opening object store %s: %w", provision.ObjectBodies, err)
	}
	sum := sha256.Sum256(body)
	name := hex.EncodeToString(sum[:])
	if _, err := obs.PutBytes(ctx, name, body); err != nil {
		return fmt.Errorf("storing large body %s: %w", name, err)
	}
	m.Data = nil
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	m.Header.Set(HeaderRef, name)
	return nil
}

// Load returns the body of a raw message, fetching it from the object store
// when the message carries a reference.
func Load(ctx context.Context, js jetstream.JetStream, h nats.Header, data []byte) ([]byte, error) {
	ref := h.Get(HeaderRef)
	if ref == "" {
		return data, nil
	}
	obs, err := js.ObjectStore(ctx, provision.ObjectBodies)
	if err != nil {
		return nil, fmt.Errorf("opening object store %s: %w", provision.ObjectBodies, err)
	}
	b, err := obs.GetBytes(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("loading large body %s: %w", ref, err)
	}
	return b, nil
}
