package gateway

import (
	"context"
	"fmt"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher stores raw deliveries in the GHNOTIFY_RAW stream, moving bodies
// too large for one NATS message to the object store first.
type Publisher struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// NewPublisher returns a Publisher on nc.
func NewPublisher(nc *nats.Conn, js jetstream.JetStream) *Publisher {
	return &Publisher{nc: nc, js: js}
}

// Publish stores d and waits for the PubAck. It returns the stream sequence
// and whether the stream already held a message with the same delivery id
// (Nats-Msg-Id) inside its duplicate window.
func (p *Publisher) Publish(ctx context.Context, d *delivery.Delivery) (uint64, bool, error) {
	// A publish made while disconnected would wait in the client's
	// reconnect buffer and could be stored after the sender was told 503;
	// refuse it at once instead.
	if !p.nc.IsConnected() {
		return 0, false, fmt.Errorf("publishing raw delivery: %w", nats.ErrConnectionReconnecting)
	}
	m := d.Msg()
	if !rawbody.Fits(p.nc, len(d.Body)) {
		if err := rawbody.Offload(ctx, p.js, m, d.Body); err != nil {
			return 0, false, fmt.Errorf("offloading large body: %w", err)
		}
	}
	// d.Body is not kept past the return (see rawStore): nats.go copies the
	// message into its write buffer (natsWriter.appendBufs, or the
	// reconnect buffer) before PublishMsg waits for the PubAck, and
	// rawbody.Offload has written the object before it returns.
	ack, err := p.js.PublishMsg(ctx, m)
	if err != nil {
		if p.nc.IsConnected() {
			err = fmt.Errorf("%w: %w", ErrNotStored, err)
		}
		return 0, false, fmt.Errorf("publishing raw delivery: %w", err)
	}
	return ack.Sequence, ack.Duplicate, nil
}
