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

// BodyKey is the dedupe index key remembering a body by its hex body key
// (delivery.Delivery.BodyKey, or the payload's SHA-256 in messages written
// by older versions).
func BodyKey(bodyKeyHex string) string { return "body." + bodyKeyHex }

// Prefixes of the index keys, as DeliveryKey and BodyKey write them.
const (
	deliveryKeyPrefix = "delivery."
	bodyKeyPrefix     = "body."
)

// ErrIndexNotReady is returned by Seen when the dedupe index was still being
// rebuilt from the raw stream when the caller's deadline passed.
var ErrIndexNotReady = errors.New("dedupe index not ready: still reading the raw stream")

// Deduper remembers every delivery id and body digest stored in the raw
// stream within the dedupe horizon, and answers whether a new delivery
// repeats one.
//
// The raw stream is the record: every raw message carries the delivery id
// and the body key (see BodyKey) in its headers. Follow reads them (headers only)
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
	// own holds the raw sequences of this gateway's latest stored
	// deliveries, each in slot seq%ownSlots, set once their keys are in
	// the index.
	own [ownSlots]atomic.Uint64
}

// NewDeduper returns a Deduper remembering deliveries for horizon. When
// bodies is false only delivery ids are remembered.
func NewDeduper(bodies bool, horizon time.Duration, log zerolog.Logger) *Deduper {
	return &Deduper{bodies: bodies, log: log, idx: newKeyIndex(horizon), readyCh: make(chan struct{})}
}

// Seen returns a duplicate reason when the delivery id, or (when body
// dedupe is on) the body key, is already remembered, and "" otherwise.
// While the index is still being rebuilt it waits for it until ctx ends,
// and then fails with ErrIndexNotReady: a delivery is never let through
// unchecked.
func (d *Deduper) Seen(ctx context.Context, deliveryID, bodyKeyHex string) (string, error) {
	reason, _, err := d.lookup(ctx, deliveryID, bodyKeyHex)
	return reason, err
}

// Remember adds a delivery this gateway has just stored (its PubAck
// received), so that the gateway sees its own writes before Follow reads
// them back from the stream.
func (d *Deduper) Remember(deliveryID, bodyKeyHex string) {
	d.add(deliveryID, bodyKeyHex, time.Now())
}

// indexKeys are one delivery's keys as the index holds them, hashed once
// per request: lookup computes them and rememberKeys reuses them. The
// strings are kept for stand-ins of the index in tests.
type indexKeys struct {
	deliveryID, bodyKey string
	id, body            keyHash
	// hasBody is false when body dedupe is off or there is no body key.
	hasBody bool
}

// keys hashes a delivery's keys.
func (d *Deduper) keys(deliveryID, bodyKeyHex string) indexKeys {
	k := indexKeys{deliveryID: deliveryID, bodyKey: bodyKeyHex, id: d.idx.hashParts(deliveryKeyPrefix, trace.KeyPart(deliveryID))}
	if d.bodies && bodyKeyHex != "" {
		k.body, k.hasBody = d.idx.hashParts(bodyKeyPrefix, bodyKeyHex), true
	}
	return k
}

// lookup is Seen, also returning the hashed keys for rememberKeys.
func (d *Deduper) lookup(ctx context.Context, deliveryID, bodyKeyHex string) (string, indexKeys, error) {
	if !d.ready.Load() {
		select {
		case <-d.readyCh:
		case <-ctx.Done():
			return "", indexKeys{}, fmt.Errorf("%w: %w", ErrIndexNotReady, ctx.Err())
		}
	}
	// Hashed only once the index is ready: a snapshot read at start
	// brings its own salt.
	k := d.keys(deliveryID, bodyKeyHex)
	idSeen, bodySeen := d.idx.hasKeys(k)
	switch {
	case idSeen:
		return ReasonDeliveryID, k, nil
	case bodySeen:
		return ReasonBody, k, nil
	}
	return "", k, nil
}

// rememberKeys is Remember with keys from lookup. seq, when not 0, is the
// raw stream sequence of this gateway's own message holding them, which
// Follow then need not hash and add again.
func (d *Deduper) rememberKeys(k indexKeys, seq uint64) {
	d.idx.addKeys(k, unixSeconds(time.Now()))
	if seq != 0 {
		d.own[seq%ownSlots].Store(seq)
	}
}

func (d *Deduper) add(deliveryID, bodyKeyHex string, at time.Time) {
	d.idx.addKeys(d.keys(deliveryID, bodyKeyHex), unixSeconds(at))
}

// ownSlots is how many of this gateway's latest sequences Deduper.own
// holds: enough for Follow to find its own messages while it keeps up.
const ownSlots = 4096

// isOwn reports whether seq is a message this gateway stored and whose
// keys it has already added.
func (d *Deduper) isOwn(seq uint64) bool { return d.own[seq%ownSlots].Load() == seq }

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
	bodyKey    string
	storedAt   time.Time
	// pending is the number of messages after this one in the stream.
	pending uint64
}

// index adds one raw message's keys, stamped with the message's own
// timestamp, and marks the index ready once the stream as it was at start
// has been read: the message is the last one (pending is 0), or at or past
// startSeq, the stream's last sequence when following began.
func (d *Deduper) index(m rawHeaders, startSeq uint64) {
	if m.deliveryID != "" && !d.isOwn(m.seq) {
		d.add(m.deliveryID, m.bodyKey, m.storedAt)
	}
	d.lastSeq.Store(m.seq)
	if m.pending == 0 || m.seq >= startSeq {
		d.markReady()
	}
}

// fromHeaders takes what the index needs from a raw message's headers:
// the delivery id and the body key, which messages written by older
// versions carry as the payload's SHA-256 instead.
func fromHeaders(h interface{ Get(string) string }) (deliveryID, bodyKeyHex string) {
	deliveryID, bodyKeyHex = h.Get(delivery.HeaderDelivery), h.Get(delivery.HeaderBodyKey)
	if bodyKeyHex == "" {
		bodyKeyHex = h.Get(delivery.HeaderContentSHA256)
	}
	return deliveryID, bodyKeyHex
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

// keyHash is a key as the index holds it.
type keyHash struct {
	h     uint64
	check uint32
}

func (x *keyIndex) hash(key string) (uint64, uint32) {
	k := x.hashParts(key, "")
	return k.h, k.check
}

// hashParts hashes the key prefix+part, without building it as a string.
func (x *keyIndex) hashParts(prefix, part string) keyHash {
	// Salt and key in one buffer on the stack: no allocation per lookup
	// (a longer key than fits simply makes append allocate).
	var buf [160]byte
	b := append(buf[:0], x.salt[:]...)
	b = append(b, prefix...)
	b = append(b, part...)
	sum := sha256.Sum256(b)
	return keyHash{h: binary.LittleEndian.Uint64(sum[:8]), check: binary.LittleEndian.Uint32(sum[8:12])}
}

// unixSeconds fits t in 32 bits (until 2106).
func unixSeconds(t time.Time) uint32 { return uint32(max(t.Unix(), 0)) }

// add remembers key as stored at at; a key already present keeps the
// later of the two times.
func (x *keyIndex) add(key string, at time.Time) {
	k := x.hashParts(key, "")
	x.mu.Lock()
	x.put(k, unixSeconds(at))
	x.mu.Unlock()
}

// put stores k at t, or keeps the later time; x.mu must be held.
func (x *keyIndex) put(k keyHash, t uint32) {
	if old, ok := x.keys.get(k.h); !ok || old.check != k.check || old.at < t {
		x.keys.put(k.h, keyEntry{check: k.check, at: t})
	}
}

// addKeys adds a delivery's keys at t under one lock.
func (x *keyIndex) addKeys(k indexKeys, t uint32) {
	x.mu.Lock()
	x.put(k.id, t)
	if k.hasBody {
		x.put(k.body, t)
	}
	x.mu.Unlock()
}

func (x *keyIndex) has(key string) bool {
	k := x.hashParts(key, "")
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.holds(k)
}

// holds reports whether k is in the index; x.mu must be held.
func (x *keyIndex) holds(k keyHash) bool {
	e, ok := x.keys.get(k.h)
	return ok && e.check == k.check
}

// hasKeys says whether a delivery's id key and body key are in the index.
func (x *keyIndex) hasKeys(k indexKeys) (id, body bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.holds(k.id), k.hasBody && x.holds(k.body)
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
