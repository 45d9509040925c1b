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
	var t tailer
	defer func() {
		stopConsumer()
		t.stop(d, js)
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
				// Starting next to a large store leaves garbage behind
				// (the NATS server's recovery, the snapshot's chunks,
				// the stream's tail): hand it back to the system once,
				// rather than holding it until the heap doubles.
				go debug.FreeOSMemory()
				continue
			}
			d.checkCaughtUp(ctx, cons)
		case <-readyCh:
			readyCh = nil
			stopConsumer()
			tail.Reset(tailEvery)
		case now := <-tail.C:
			if err := t.tail(ctx, d, js, stream, now); err != nil {
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
// deliveries into the index. A gateway alone on its stream reads nothing
// back; deliveries of other instances reach the index within about two
// periods.
//
// The consumer is kept from one look to the next while other instances'
// messages keep arriving, and deleted after tailQuiet without any: in a
// cluster each consumer created or deleted is a proposal of the meta
// layer, which a consumer per look would make ten times a second for as
// long as traffic is shared. A kept consumer also delivers this gateway's
// own messages stored since its last read; they are passed over, and when
// more than tailLag of them lie before the next other message the
// consumer is replaced by one starting there.
type tailer struct {
	// upTo is the stream's last sequence at the previous look.
	upTo uint64
	// c is the kept consumer (nil: none); cseq is the consumer sequence
	// of the last message it delivered, and at the stream sequence of that
	// message (or the one before its start).
	c        jetstream.Consumer
	cseq, at uint64
	// lastOther is the time of the last look that found messages of
	// other instances to read.
	lastOther time.Time
}

const (
	// tailBatch is the most messages asked for in one pull.
	tailBatch = 1000
	// tailQuiet is how long the tail's consumer is kept without other
	// instances' messages.
	tailQuiet = 10 * time.Second
	// tailLag is the most messages already passed over (this gateway's
	// own) that a kept consumer may deliver before the next one to read.
	tailLag = tailBatch
)

// tail makes one look at the stream; now is the time of the look.
func (t *tailer) tail(ctx context.Context, d *Deduper, js jetstream.JetStream, s jetstream.Stream, now time.Time) error {
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
	if first := info.State.FirstSeq; known < upTo && known+1 < first {
		// Removed from the stream (age, purge) before it was read.
		known = first - 1
		d.lastSeq.Store(known)
	}
	if known >= upTo {
		if t.c != nil && now.Sub(t.lastOther) >= tailQuiet {
			t.stop(d, js)
		}
		return nil
	}
	t.lastOther = now
	if err := t.read(ctx, d, js, s, known, upTo); err != nil {
		// The consumer may have lost a message or be gone: the next
		// look starts a new one after the last message read.
		t.stop(d, js)
		return err
	}
	return nil
}

// stop deletes the kept consumer, if any.
func (t *tailer) stop(d *Deduper, js jetstream.JetStream) {
	if t.c == nil {
		return
	}
	d.deleteConsumer(js, t.c)
	t.c = nil
}

// read reads the raw stream after known, into the index, up to at least
// upTo or the stream's end, with the kept consumer or a new one starting
// after known. The consumer does not acknowledge: a message delivered but
// not received shows as a gap in the consumer sequence, and the reading
// stops before it with an error (the next look starts after known).
func (t *tailer) read(ctx context.Context, d *Deduper, js jetstream.JetStream, s jetstream.Stream, known, upTo uint64) error {
	if t.c != nil && known > t.at+tailLag {
		t.stop(d, js)
	}
	if t.c != nil {
		var err error
		if known, err = t.readKept(d, known, upTo); err != nil || known >= upTo {
			return err
		}
		// Fewer messages than the stream held: some were removed since.
		// A new consumer tells which (below).
		t.stop(d, js)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Name:              dedupeConsumerPrefix() + "-tail",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       known + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		HeadersOnly:       true,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("creating a consumer on %s: %w", provision.StreamRaw, err)
	}
	t.c, t.cseq, t.at = c, 0, known
	for {
		batch, err := c.FetchNoWait(tailBatch)
		if err != nil {
			return fmt.Errorf("reading %s after %d: %w", provision.StreamRaw, known, err)
		}
		var n int
		if n, known, err = t.take(d, batch, known); err != nil {
			return err
		}
		switch {
		case n == 0 && known < upTo:
			// Nothing left after known: the rest up to upTo was removed.
			// (A new consumer counts what it has pending when it is
			// created; a kept one's count may lag behind new messages.)
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

// tailWait is how long a kept consumer may take to deliver messages the
// stream held at the previous look.
const tailWait = 500 * time.Millisecond

// readKept reads with the kept consumer up to upTo. It asks for exactly
// the messages after the last one the consumer delivered up to upTo, which
// the stream held at the previous look: a pull that waits for them
// returns as soon as they are all delivered, and comes back short only
// when some were removed since. (A pull that does not wait would be
// answered "no messages" by a count of pending messages the server updates
// after the PubAck.) It returns the last sequence read.
func (t *tailer) readKept(d *Deduper, known, upTo uint64) (uint64, error) {
	for known < upTo {
		want := int(min(upTo-t.at, tailBatch))
		batch, err := t.c.Fetch(want, jetstream.FetchMaxWait(tailWait))
		if err != nil {
			return known, fmt.Errorf("reading %s after %d: %w", provision.StreamRaw, known, err)
		}
		n, k, err := t.take(d, batch, known)
		if err != nil || n < want {
			return k, err
		}
		known = k
	}
	return known, nil
}

// take reads one batch into the index, passing over what is at or before
// known, and returns how many messages it held and the last sequence read.
func (t *tailer) take(d *Deduper, batch jetstream.MessageBatch, known uint64) (int, uint64, error) {
	n, lost := 0, false
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if lost || err != nil || meta.Sequence.Consumer != t.cseq+1 {
			lost = true // read no further
			continue
		}
		t.cseq, t.at = meta.Sequence.Consumer, meta.Sequence.Stream
		n++
		if t.at <= known {
			continue // passed over already: this gateway's own
		}
		id, key := fromHeaders(m.Headers())
		d.index(rawHeaders{seq: t.at, deliveryID: id, bodyKey: key, storedAt: meta.Timestamp, pending: meta.NumPending}, 0)
		known = t.at
	}
	if lost {
		return n, known, fmt.Errorf("reading %s after %d: a message was not received", provision.StreamRaw, known)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return n, known, fmt.Errorf("reading %s after %d: %w", provision.StreamRaw, known, err)
	}
	return n, known, nil
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
