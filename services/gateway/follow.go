package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/retry"
	"github.com/nats-io/nats.go/jetstream"
)

// pruneEvery is how often keys older than the horizon are dropped.
const pruneEvery = time.Minute

// tailEvery is how often, once the index is complete, Follow looks for raw
// messages it has not read.
const tailEvery = 100 * time.Millisecond

// Follow feeds the index from the raw stream until ctx ends. To build it,
// an ordered consumer, headers only, starting one horizon back (or after
// the snapshot), replays the stream; it resumes by itself after a
// reconnection or a server restart, from the last message it delivered.
// Until the index is ready, Follow also checks every second whether the
// consumer has nothing left to deliver (the last message may have been
// removed before it was read). Once the index is ready the consumer is
// stopped and Follow tails the stream instead (see tail): it reads only
// the messages this gateway did not store itself.
func (d *Deduper) Follow(ctx context.Context, js jetstream.JetStream) {
	var (
		sub    jetstream.ConsumeContext
		cons   jetstream.Consumer
		stream jetstream.Stream
	)
	err := retry.Until(ctx, retry.Backoff{Base: time.Second, Max: 10 * time.Second}, func(ctx context.Context) error {
		var err error
		stream, cons, sub, err = d.startFollowing(ctx, js)
		return err
	}, func(attempt uint64, err error, wait time.Duration) {
		d.log.Warn().Err(err).Uint64("attempt", attempt).Dur("retry_in", wait).Msg("reading the raw stream into the dedupe index failed; retrying")
	})
	if err != nil {
		return // ctx ended
	}
	stopConsumer := func() {
		if sub == nil {
			return
		}
		sub.Stop()
		select {
		case <-sub.Closed():
		case <-time.After(5 * time.Second):
		}
		d.deleteConsumer(js, cons)
		sub = nil
	}
	defer func() {
		stopConsumer()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.snapshot(sctx, js)
	}()

	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	snap := time.NewTicker(snapshotEvery)
	defer snap.Stop()
	tail := time.NewTicker(tailEvery)
	tail.Stop() // started once the index is ready
	defer tail.Stop()
	readyCh := d.readyCh
	var t tailer
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-prune.C:
			d.idx.prune(now)
		case <-snap.C:
			d.snapshot(ctx, js)
		case <-check.C:
			if d.Ready() {
				check.Stop()
				continue
			}
			d.checkCaughtUp(ctx, cons)
		case <-readyCh:
			readyCh = nil
			stopConsumer()
			tail.Reset(tailEvery)
		case <-tail.C:
			if err := t.tail(ctx, d, js, stream); err != nil {
				d.log.Debug().Err(err).Msg("dedupe index: reading the raw stream's tail failed; retrying")
			}
		}
	}
}

// tailer reads the raw stream's messages that this gateway did not store
// itself, once the index is complete. Every tailEvery it asks the stream
// for its last sequence and walks the sequences after the last one read
// up to the last sequence of the previous look (so that this gateway's
// own publishes in flight then have had their PubAck since): a sequence
// this gateway stored and remembered (Deduper.isOwn) is passed over
// without reading it; from the first other one, a consumer (headers only)
// reads the stream, at least up to that sequence, the other instances'
// deliveries into the index. A gateway alone on its stream reads nothing back; deliveries of
// other instances reach the index within about two periods.
type tailer struct {
	// upTo is the stream's last sequence at the previous look.
	upTo uint64
}

// tailBatch is the most messages asked for in one pull.
const tailBatch = 1000

func (t *tailer) tail(ctx context.Context, d *Deduper, js jetstream.JetStream, s jetstream.Stream) error {
	if !js.Conn().IsConnected() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading the state of %s: %w", provision.StreamRaw, err)
	}
	upTo := t.upTo
	t.upTo = info.State.LastSeq
	known := d.LastSequence()
	for known < upTo && d.isOwn(known+1) {
		known++
	}
	d.lastSeq.Store(known)
	if known >= upTo {
		return nil
	}
	if first := info.State.FirstSeq; known+1 < first {
		// Removed from the stream (age, purge) before it was read.
		known = first - 1
		d.lastSeq.Store(known)
		if known >= upTo {
			return nil
		}
	}
	return d.readAfter(ctx, js, s, known, upTo)
}

// readAfter reads the raw stream after known, into the index, up to at
// least upTo or the stream's end. The consumer does not acknowledge:
// a message delivered but not received shows as a gap in the consumer
// sequence, and the reading stops before it (the next look starts there).
func (d *Deduper) readAfter(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, known, upTo uint64) error {
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Name:              dedupeConsumerPrefix() + "-tail",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       known + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		HeadersOnly:       true,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("creating a consumer on %s: %w", provision.StreamRaw, err)
	}
	defer d.deleteConsumer(js, c)
	var cseq uint64
	for {
		batch, err := c.FetchNoWait(tailBatch)
		if err != nil {
			return fmt.Errorf("reading %s after %d: %w", provision.StreamRaw, known, err)
		}
		n, lost := 0, false
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if lost || err != nil || meta.Sequence.Consumer != cseq+1 {
				lost = true // read no further; the next look starts after known
				continue
			}
			cseq++
			n++
			id, key := fromHeaders(m.Headers())
			d.index(rawHeaders{seq: meta.Sequence.Stream, deliveryID: id, bodyKey: key, storedAt: meta.Timestamp, pending: meta.NumPending}, 0)
			known = meta.Sequence.Stream
		}
		if lost {
			return fmt.Errorf("reading %s after %d: a message was not received", provision.StreamRaw, known)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("reading %s after %d: %w", provision.StreamRaw, known, err)
		}
		switch {
		case n == 0 && known < upTo:
			// Nothing left after known: the rest up to upTo was removed.
			info, err := c.Info(ctx)
			if err != nil || info.NumPending != 0 {
				return fmt.Errorf("reading %s after %d: no message delivered, %w", provision.StreamRaw, known, err)
			}
			d.lastSeq.Store(upTo)
			return nil
		case n == 0 || known >= upTo:
			return nil
		}
	}
}

// startFollowing creates the ordered consumer and starts consuming. When
// the stream holds nothing within the horizon the index is ready at once.
func (d *Deduper) startFollowing(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, jetstream.Consumer, jetstream.ConsumeContext, error) {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(actx, provision.StreamRaw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening stream %s: %w", provision.StreamRaw, err)
	}
	state := s.CachedInfo().State
	d.streamCreated = s.CachedInfo().Created
	if !d.Ready() && d.LastSequence() == 0 {
		d.restore(actx, js, state.LastSeq)
	}
	start := time.Now().Add(-d.idx.horizon)
	cfg := jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &start,
		HeadersOnly:   true,
		NamePrefix:    dedupeConsumerPrefix(),
	}
	if last := d.LastSequence(); last > 0 {
		// Only what the index has not read yet: the tail after a snapshot.
		cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, last+1
	}
	c, err := s.OrderedConsumer(actx, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating ordered consumer on %s: %w", provision.StreamRaw, err)
	}
	startSeq := state.LastSeq
	sub, err := c.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			d.log.Warn().Err(err).Msg("raw message without metadata skipped by the dedupe index")
			return
		}
		id, key := fromHeaders(m.Headers())
		d.index(rawHeaders{seq: meta.Sequence.Stream, deliveryID: id, bodyKey: key, storedAt: meta.Timestamp, pending: meta.NumPending}, startSeq)
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		d.log.Debug().Err(err).Msg("dedupe index consumer")
	}))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("consuming %s: %w", provision.StreamRaw, err)
	}
	if state.Msgs == 0 || state.LastTime.Before(start) || d.LastSequence() >= state.LastSeq {
		d.markReady()
	}
	return s, c, sub, nil
}

// restore starts the index from the latest snapshot when there is one of
// this raw stream (same creation time) not ahead of its last sequence; a
// missing, damaged or foreign snapshot leaves the index empty, to be
// rebuilt from the stream within the horizon.
func (d *Deduper) restore(ctx context.Context, js jetstream.JetStream, lastSeq uint64) {
	x, h, err := loadSnapshot(ctx, js, d.idx.horizon)
	switch {
	case err != nil:
		d.log.Warn().Err(err).Msg("dedupe index snapshot not used; reading the raw stream within the horizon")
	case x == nil:
	case !h.streamCreated.Equal(d.streamCreated) || h.seq > lastSeq:
		d.log.Info().Uint64("snapshot_sequence", h.seq).Uint64("stream_last_sequence", lastSeq).Msg("dedupe index snapshot is of another raw stream; reading the stream within the horizon")
	default:
		d.idx.adopt(x)
		d.lastSeq.Store(h.seq)
		d.snapshotSeq = h.seq
		d.restored.Store(h.seq)
		// Starting next to a large store leaves garbage behind (the NATS
		// server's recovery, the snapshot's chunks): hand it back to the
		// system now rather than holding it until the heap doubles.
		go debug.FreeOSMemory()
	}
}

// snapshot writes a snapshot when the index is complete and has read
// further than the last one.
func (d *Deduper) snapshot(ctx context.Context, js jetstream.JetStream) {
	if !d.Ready() || d.LastSequence() <= d.snapshotSeq || !js.Conn().IsConnected() {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.saveSnapshot(sctx, js); err != nil {
		d.log.Warn().Err(err).Msg("writing the dedupe index snapshot failed; the next start reads more of the raw stream")
	}
}

// checkCaughtUp marks the index ready when the consumer has delivered
// everything and the index has read the last message delivered.
func (d *Deduper) checkCaughtUp(ctx context.Context, c jetstream.Consumer) {
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := c.Info(ictx)
	if err != nil {
		return
	}
	if info.NumPending == 0 && info.Delivered.Stream > 0 && info.Delivered.Stream <= d.LastSequence() {
		d.markReady()
	}
}

// deleteConsumer removes the ordered consumer's server side at once rather
// than leaving it to expire after its inactivity threshold.
func (d *Deduper) deleteConsumer(js jetstream.JetStream, c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil || !js.Conn().IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := js.DeleteConsumer(ctx, provision.StreamRaw, info.Name); err != nil {
		d.log.Debug().Err(err).Msg("deleting the dedupe index consumer failed; it expires by itself")
	}
}

// dedupeConsumerPrefix names the ordered consumer of the dedupe index so
// that `nats consumer ls GHNOTIFY_RAW` says what it is:
// gateway-dedupe-index-<random>_<n>, unique per gateway instance.
func dedupeConsumerPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "gateway-dedupe-index-" + hex.EncodeToString(b[:])
}
