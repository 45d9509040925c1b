package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Duplicate reasons, as answered to GitHub and counted in metrics.
const (
	ReasonDeliveryID = "delivery id already stored"
	ReasonBody       = "body already stored under another delivery id"
)

// DeliveryKey is the ghnotify_dedupe key remembering a delivery id.
func DeliveryKey(deliveryID string) string { return "delivery." + trace.KeyPart(deliveryID) }

// BodyKey is the ghnotify_dedupe key remembering a payload by its hex SHA-256.
func BodyKey(sha256hex string) string { return "body." + sha256hex }

// Deduper remembers, in the ghnotify_dedupe bucket (whose TTL is the dedupe
// horizon), every delivery id and body digest the gateway has stored, and
// answers whether a new delivery repeats one.
//
// Lookups are served from an in-memory index of the bucket's keys, kept
// current by a key watcher: a key absent from a complete index is absent from
// the bucket, so a new delivery costs no round trip to NATS. A key present in
// the index is confirmed with a read of the bucket (the index holds 64-bit
// hashes, and keys expire in the bucket without telling watchers). Until the
// watcher has replayed the bucket, after a start or a watcher restart, every
// lookup reads the bucket.
type Deduper struct {
	kv      jetstream.KeyValue
	js      jetstream.JetStream
	bodies  bool
	log     zerolog.Logger
	idx     *keyIndex
	pending chan pendingKey
	// inflight maps keys being written to a channel closed when settled.
	inflight sync.Map
	// onWriteFailure, when set, is called for each key that could not be
	// written.
	onWriteFailure func()
}

// NewDeduper returns a Deduper over the dedupe bucket kv. When bodies is
// false only delivery ids are remembered.
func NewDeduper(js jetstream.JetStream, kv jetstream.KeyValue, bodies bool, horizon time.Duration, log zerolog.Logger) *Deduper {
	return &Deduper{kv: kv, js: js, bodies: bodies, log: log, idx: newKeyIndex(horizon), pending: make(chan pendingKey, 8192)}
}

// Seen returns a duplicate reason when the delivery id, or (when body
// dedupe is on) the body digest, is already remembered, and "" otherwise.
func (d *Deduper) Seen(ctx context.Context, deliveryID, sha256hex string) (string, error) {
	found, err := d.has(ctx, DeliveryKey(deliveryID))
	if err != nil {
		return "", err
	}
	if found {
		return ReasonDeliveryID, nil
	}
	if !d.bodies {
		return "", nil
	}
	found, err = d.has(ctx, BodyKey(sha256hex))
	if err != nil {
		return "", err
	}
	if found {
		return ReasonBody, nil
	}
	return "", nil
}

func (d *Deduper) has(ctx context.Context, key string) (bool, error) {
	if d.idx.ready.Load() && !d.idx.has(key) {
		return false, nil
	}
	// A key this gateway is still writing is read once the write settled,
	// so that this gateway always sees its own deliveries.
	if done, ok := d.inflight.Load(key); ok {
		select {
		case <-done.(chan struct{}):
		case <-ctx.Done():
			return false, fmt.Errorf("waiting for dedupe key write: %w", ctx.Err())
		}
	}
	_, err := d.kv.Get(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return false, nil
	}
	return false, fmt.Errorf("reading dedupe key: %w", err)
}

// pendingKey is a dedupe key write whose PubAck has not been checked yet.
type pendingKey struct {
	key        string
	value      []byte
	future     jetstream.PubAckFuture
	event      string
	deliveryID string
	// done is closed once the write is settled.
	done chan struct{}
}

// Remember writes the delivery id and body digest of a stored delivery. Both
// keys are created (never overwritten, so the first delivery stays the one
// remembered) with asynchronous publishes: Remember returns once they are
// sent, and Settle checks their acknowledgements in the background. The
// stream's Nats-Msg-Id window covers the delivery id in the meantime, and
// Repair covers a gateway that stopped before the keys were written.
func (d *Deduper) Remember(ctx context.Context, event, deliveryID, sha256hex string, seq uint64) error {
	keys := [2]string{DeliveryKey(deliveryID), BodyKey(sha256hex)}
	n := 1
	if d.bodies {
		n = 2
	}
	value := []byte(deliveryID + " " + strconv.FormatUint(seq, 10))
	for _, k := range keys[:n] {
		m := nats.NewMsg(kvSubject(k))
		m.Data = value
		f, err := d.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(0))
		if err != nil {
			return fmt.Errorf("writing dedupe key: %w", err)
		}
		// Indexed at once, so this gateway knows the key before the watcher
		// reports it. Should the write fail, the entry costs one bucket read
		// per lookup and finds nothing: lookups stay correct.
		d.idx.add(k, time.Now())
		pk := pendingKey{key: k, value: value, future: f, event: event, deliveryID: deliveryID, done: make(chan struct{})}
		d.inflight.Store(k, pk.done)
		select {
		case d.pending <- pk:
		case <-ctx.Done():
			// Nobody will settle this write: stop lookups waiting for it.
			d.inflight.CompareAndDelete(k, pk.done)
			close(pk.done)
			return fmt.Errorf("queueing dedupe key check: %w", ctx.Err())
		}
	}
	return nil
}

func kvSubject(key string) string { return "$KV." + provision.BucketDedupe + "." + key }

// Settle checks the acknowledgements of Remember's writes until stop is
// closed and the queue is empty. A write that failed is retried once with
// a plain Create; a key that exists already is fine.
func (d *Deduper) Settle(stop <-chan struct{}) {
	for {
		select {
		case pk := <-d.pending:
			d.settle(pk)
		case <-stop:
			for {
				select {
				case pk := <-d.pending:
					d.settle(pk)
				default:
					return
				}
			}
		}
	}
}

func (d *Deduper) settle(pk pendingKey) {
	defer func() {
		d.inflight.CompareAndDelete(pk.key, pk.done)
		close(pk.done)
	}()
	var err error
	select {
	case <-pk.future.Ok():
		return
	case err = <-pk.future.Err():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.created(ctx, pk.key, pk.value, err); err != nil {
		if d.onWriteFailure != nil {
			d.onWriteFailure()
		}
		d.log.Warn().Err(err).Str("delivery", pk.deliveryID).Str("event", pk.event).Str("key", pk.key).
			Msg("remembering stored delivery failed; a redelivery after the stream's duplicate window would be stored again")
	}
}

// created settles a failed first attempt at creating key: a wrong last
// sequence means the key exists or was deleted, and anything else (a
// timeout, a lost connection) is retried; Create sorts out every case.
func (d *Deduper) created(ctx context.Context, key string, value []byte, err error) error {
	if !isWrongLastSeq(err) {
		d.log.Debug().Err(err).Str("key", key).Msg("writing dedupe key failed; retrying")
	}
	if _, err := d.kv.Create(ctx, key, value); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("writing dedupe key: %w", err)
	}
	d.idx.add(key, time.Now())
	return nil
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == 10164
}

// Ready reports whether the in-memory index is complete.
func (d *Deduper) Ready() bool { return d.idx.ready.Load() }

// Watch keeps the index current until ctx ends, restarting the key watcher
// whenever it stops.
func (d *Deduper) Watch(ctx context.Context) {
	var rev uint64
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for ctx.Err() == nil {
		opts := []jetstream.WatchOpt{jetstream.MetaOnly()}
		if rev > 0 {
			opts = append(opts, jetstream.ResumeFromRevision(rev+1))
		}
		w, err := d.kv.WatchAll(ctx, opts...)
		if err != nil {
			d.log.Warn().Err(err).Msg("watching dedupe keys failed; lookups read the bucket until it works")
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		rev = d.follow(ctx, w, prune.C, rev)
		d.idx.ready.Store(false)
		_ = w.Stop()
	}
}

// follow applies watcher updates to the index until the watcher or ctx ends,
// and returns the last revision seen.
func (d *Deduper) follow(ctx context.Context, w jetstream.KeyWatcher, prune <-chan time.Time, rev uint64) uint64 {
	for {
		select {
		case <-ctx.Done():
			return rev
		case now := <-prune:
			d.idx.prune(now)
		case e, ok := <-w.Updates():
			if !ok {
				return rev
			}
			if e == nil {
				d.idx.ready.Store(true)
				continue
			}
			rev = max(rev, e.Revision())
			switch e.Operation() {
			case jetstream.KeyValuePut:
				d.idx.add(e.Key(), e.Created())
			default:
				d.idx.remove(e.Key())
			}
		}
	}
}

// keyIndex is a set of 64-bit key hashes with the time each key was written.
// At 16 bytes of payload a key it holds a million deliveries (two keys each)
// in a few tens of megabytes.
type keyIndex struct {
	seed    maphash.Seed
	horizon time.Duration
	ready   atomic.Bool
	mu      sync.RWMutex
	keys    map[uint64]int64
}

func newKeyIndex(horizon time.Duration) *keyIndex {
	return &keyIndex{seed: maphash.MakeSeed(), horizon: horizon, keys: make(map[uint64]int64)}
}

func (x *keyIndex) add(key string, at time.Time) {
	h := maphash.String(x.seed, key)
	x.mu.Lock()
	x.keys[h] = at.Unix()
	x.mu.Unlock()
}

func (x *keyIndex) remove(key string) {
	h := maphash.String(x.seed, key)
	x.mu.Lock()
	delete(x.keys, h)
	x.mu.Unlock()
}

func (x *keyIndex) has(key string) bool {
	h := maphash.String(x.seed, key)
	x.mu.RLock()
	_, ok := x.keys[h]
	x.mu.RUnlock()
	return ok
}

func (x *keyIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.keys)
}

// pruneMargin keeps keys in the index a while after the bucket should have
// expired them, so that a clock running ahead of the server's never drops a
// key the bucket still holds. A key kept too long costs one bucket read.
const pruneMargin = time.Hour

// prune forgets keys older than the horizon (plus pruneMargin), which the
// bucket has expired.
func (x *keyIndex) prune(now time.Time) {
	if x.horizon <= 0 {
		return
	}
	cutoff := now.Add(-x.horizon - pruneMargin).Unix()
	x.mu.Lock()
	for h, at := range x.keys {
		if at < cutoff {
			delete(x.keys, h)
		}
	}
	x.mu.Unlock()
}
