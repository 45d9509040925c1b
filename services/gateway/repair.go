package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
)

// Repair writes the missing dedupe keys of the raw deliveries stored within
// window before now. Remember writes keys after the PubAck without holding
// up the answer, so a gateway that stopped in between leaves a stored
// delivery without keys; the stream's Nats-Msg-Id window protects it for a
// while, and Repair, run at every start, closes the gap for good. It waits
// for the index to be complete, reads message headers only, and writes
// only keys the index lacks. It returns the number of deliveries repaired.
func (d *Deduper) Repair(ctx context.Context, js jetstream.JetStream, window time.Duration) (int, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !d.Ready() {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
	s, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		return 0, fmt.Errorf("opening stream %s: %w", provision.StreamRaw, err)
	}
	start := time.Now().Add(-window)
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &start,
		HeadersOnly:   true,
	})
	if err != nil {
		return 0, fmt.Errorf("reading recent raw deliveries: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading recent raw deliveries: %w", err)
	}
	if info.NumPending == 0 {
		return 0, nil
	}
	repaired := 0
	for {
		m, err := c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			return repaired, fmt.Errorf("reading recent raw deliveries: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return repaired, fmt.Errorf("reading raw delivery metadata: %w", err)
		}
		h := m.Headers()
		id, sum := h.Get(delivery.HeaderDelivery), h.Get(delivery.HeaderContentSHA256)
		if id != "" && sum != "" && (!d.idx.has(DeliveryKey(id)) || d.bodies && !d.idx.has(BodyKey(sum))) {
			if err := d.Remember(ctx, h.Get(delivery.HeaderEvent), id, sum, meta.Sequence.Stream); err != nil {
				return repaired, err
			}
			repaired++
		}
		if meta.NumPending == 0 {
			return repaired, nil
		}
	}
}
