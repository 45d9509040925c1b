package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/rs/zerolog"
)

// Duplicate reasons, as answered to GitHub and counted in metrics.
const (
	ReasonDeliveryID = "delivery id already stored"
	ReasonBody       = "body already stored under another delivery id"
)

// DeliveryKey is the dedupe index key remembering a delivery id.
func DeliveryKey(deliveryID string) string { return "delivery." + trace.KeyPart(deliveryID) }

// BodyKey is the dedupe index key remembering a payload by its hex SHA-256.
func BodyKey(sha256hex string) string { return "body." + sha256hex }

// ErrIndexNotReady is returned by Seen when the dedupe index was still being
// rebuilt from the raw stream when the caller's deadline passed.
var ErrIndexNotReady = errors.New("dedupe index not ready: still reading the raw stream")

// Deduper remembers every delivery id and body digest stored in the raw
// stream within the dedupe horizon, and answers whether a new delivery
// repeats one.
//
// The raw stream is the record: every raw message carries the delivery id
// and the payload's SHA-256 in its headers. Follow reads them (headers only)
// from the raw stream, starting one horizon back, into an in-memory index,
// and keeps following the stream, so deliveries stored by other gateway
// instances arrive too. Remember adds this gateway's own deliveries at once,
// after their PubAck. Seen answers from the index alone; until Follow has
// caught up with the stream as it was at start, Seen waits.
type Deduper struct {
	bodies bool
	log    zerolog.Logger
	idx    *keyIndex

	readyOnce sync.Once
	readyCh   chan struct{}
	ready     atomic.Bool
	// lastSeq is the last raw stream sequence read into the index.
	lastSeq atomic.Uint64

	// streamCreated is the raw stream's creation time, and snapshotSeq
	// the sequence of the last snapshot written or read (Follow's own).
	streamCreated time.Time
	snapshotSeq   uint64
	// restored is the sequence of the snapshot the index started from (0:
	// none), for the log and metrics.
	restored atomic.Uint64
}

// NewDeduper returns a Deduper remembering deliveries for horizon. When
// bodies is false only delivery ids are remembered.
func NewDeduper(bodies bool, horizon time.Duration, log zerolog.Logger) *Deduper {
	return &Deduper{bodies: bodies, log: log, idx: newKeyIndex(horizon), readyCh: make(chan struct{})}
}

// Seen returns a duplicate reason when the delivery id, or (when body
// dedupe is on) the body digest, is already remembered, and "" otherwise.
// While the index is still being rebuilt it waits for it until ctx ends,
// and then fails with ErrIndexNotReady: a delivery is never let through
// unchecked.
func (d *Deduper) Seen(ctx context.Context, deliveryID, sha256hex string) (string, error) {
	if !d.ready.Load() {
		select {
		case <-d.readyCh:
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %w", ErrIndexNotReady, ctx.Err())
		}
	}
	if d.idx.has(DeliveryKey(deliveryID)) {
		return ReasonDeliveryID, nil
	}
	if d.bodies && d.idx.has(BodyKey(sha256hex)) {
		return ReasonBody, nil
	}
	return "", nil
}

// Remember adds a delivery this gateway has just stored (its PubAck
// received), so that the gateway sees its own writes before Follow reads
// them back from the stream.
func (d *Deduper) Remember(deliveryID, sha256hex string) {
	d.add(deliveryID, sha256hex, time.Now())
}

func (d *Deduper) add(deliveryID, sha256hex string, at time.Time) {
	d.idx.add(DeliveryKey(deliveryID), at)
	if d.bodies && sha256hex != "" {
		d.idx.add(BodyKey(sha256hex), at)
	}
}

// Ready reports whether the index holds every delivery of the raw stream
// within the horizon, as of the gateway's start.
func (d *Deduper) Ready() bool { return d.ready.Load() }

// LastSequence is the last raw stream sequence read into the index.
func (d *Deduper) LastSequence() uint64 { return d.lastSeq.Load() }

// Len is the number of keys in the index.
func (d *Deduper) Len() int { return d.idx.len() }

func (d *Deduper) markReady() {
	d.readyOnce.Do(func() {
		d.ready.Store(true)
		close(d.readyCh)
	})
}

// rawHeaders is one raw stream message as the index needs it.
type rawHeaders struct {
	seq        uint64
	deliveryID string
	sha256hex  string
	storedAt   time.Time
	// pending is the number of messages after this one in the stream.
	pending uint64
}

// index adds one raw message's keys, stamped with the message's own
// timestamp, and marks the index ready once the stream as it was at start
// has been read: the message is the last one (pending is 0), or at or past
// startSeq, the stream's last sequence when following began.
func (d *Deduper) index(m rawHeaders, startSeq uint64) {
	if m.deliveryID != "" {
		d.add(m.deliveryID, m.sha256hex, m.storedAt)
	}
	d.lastSeq.Store(m.seq)
	if m.pending == 0 || m.seq >= startSeq {
		d.markReady()
	}
}

// fromHeaders takes what the index needs from a raw message's headers.
func fromHeaders(h interface{ Get(string) string }) (deliveryID, sha256hex string) {
	return h.Get(delivery.HeaderDelivery), h.Get(delivery.HeaderContentSHA256)
}

// keyIndex is a set of keys with the Unix time each was stored. A key is
// held as the first 96 bits of SHA-256(salt, key): 64 bits as the map key
// and 32 more as a check stored with the time. A false match needs all 96
// to collide (about n/2^96 per lookup), and two keys sharing the 64-bit
// map key (a chance of about 10^-7 that any such pair exists at two
// million keys) only make the older one forgotten, never a new delivery
// taken for a duplicate. The salt is random per index and saved with its
// snapshot, so nobody outside can choose keys that collide. At 16 bytes a
// slot in a table kept 7/12 to 7/8 full (keyTable: 18 to 27 bytes a key)
// it holds a million deliveries, two keys each, in 37 to 55 MB.
type keyIndex struct {
	salt    [16]byte
	horizon time.Duration
	mu      sync.RWMutex
	keys    *keyTable
}

// keyEntry is what the index holds for one key besides its hash.
type keyEntry struct {
	check uint32
	// at is the Unix time, in seconds, the key was stored.
	at uint32
}

func newKeyIndex(horizon time.Duration) *keyIndex {
	x := &keyIndex{horizon: horizon, keys: newKeyTable(0)}
	_, _ = rand.Read(x.salt[:])
	return x
}

func (x *keyIndex) hash(key string) (uint64, uint32) {
	// Salt and key in one buffer on the stack: no allocation per lookup
	// (a longer key than fits simply makes append allocate).
	var buf [160]byte
	b := append(buf[:0], x.salt[:]...)
	b = append(b, key...)
	sum := sha256.Sum256(b)
	return binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint32(sum[8:12])
}

// unixSeconds fits t in 32 bits (until 2106).
func unixSeconds(t time.Time) uint32 { return uint32(max(t.Unix(), 0)) }

// add remembers key as stored at at; a key already present keeps the
// later of the two times.
func (x *keyIndex) add(key string, at time.Time) {
	h, check := x.hash(key)
	t := unixSeconds(at)
	x.mu.Lock()
	if old, ok := x.keys.get(h); !ok || old.check != check || old.at < t {
		x.keys.put(h, keyEntry{check: check, at: t})
	}
	x.mu.Unlock()
}

func (x *keyIndex) has(key string) bool {
	h, check := x.hash(key)
	x.mu.RLock()
	e, ok := x.keys.get(h)
	x.mu.RUnlock()
	return ok && e.check == check
}

// adopt takes o's salt and keys (a snapshot read before any key was added).
func (x *keyIndex) adopt(o *keyIndex) {
	x.mu.Lock()
	x.salt, x.keys = o.salt, o.keys
	x.mu.Unlock()
}

// RestoredFrom is the raw stream sequence of the snapshot the index
// started from, or 0 when it was read from the stream alone.
func (d *Deduper) RestoredFrom() uint64 { return d.restored.Load() }

func (x *keyIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.keys.len()
}

// prune forgets keys stored longer ago than the horizon.
func (x *keyIndex) prune(now time.Time) {
	if x.horizon <= 0 {
		return
	}
	cutoff := unixSeconds(now.Add(-x.horizon))
	x.mu.Lock()
	x.keys.deleteIf(func(e keyEntry) bool { return e.at < cutoff })
	x.mu.Unlock()
}

// claimShards spreads in-flight claims over independent locks, so that
// requests with different bodies never wait on one another.
const claimShards = 64

// bodyClaims makes the body check, the publish and the index update one
// step per body within a gateway: the first request with a body claims its
// digest until its outcome is remembered; a request with the same body
// meanwhile waits for that outcome and then checks the index again (a
// duplicate if the first was stored, its own attempt if the first failed).
// Requests with other bodies are not held up.
type bodyClaims struct {
	shards [claimShards]claimShard
}

type claimShard struct {
	mu       sync.Mutex
	inFlight map[[32]byte]chan struct{}
}

func newBodyClaims() *bodyClaims {
	c := &bodyClaims{}
	for i := range c.shards {
		c.shards[i].inFlight = make(map[[32]byte]chan struct{})
	}
	return c
}

// claim takes the claim on sum, waiting while another request holds it,
// until ctx ends. The returned release must be called once the outcome is
// remembered (or the attempt failed).
func (c *bodyClaims) claim(ctx context.Context, sum [32]byte) (release func(), err error) {
	s := &c.shards[sum[0]%claimShards]
	for {
		s.mu.Lock()
		held, busy := s.inFlight[sum]
		if !busy {
			done := make(chan struct{})
			s.inFlight[sum] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.inFlight, sum)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a delivery with the same body: %w", ctx.Err())
		}
	}
}

// held is the number of claims taken and not released.
func (c *bodyClaims) held() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.inFlight)
		s.mu.Unlock()
	}
	return n
}
