package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
)

// The dedupe index snapshot: the index as of a raw stream sequence, kept
// as one object in the ghnotify_dedupe object store, so that a gateway
// starting next to a large raw stream reads the snapshot and only the
// messages stored after it, instead of every message within the horizon.
const (
	snapshotObject = "index"
	snapshotMagic  = "ghnotify-dedupe-index v1\n"
	// snapshotEvery is how often a snapshot is written while the index
	// has moved on; a gateway also writes one when it stops.
	snapshotEvery = time.Minute
	// snapshotEntry is the size of one key in a snapshot.
	snapshotEntry = 16
)

// snapshotHeader is what a snapshot says besides its keys.
type snapshotHeader struct {
	// seq is the last raw stream sequence the index had read.
	seq uint64
	// streamCreated identifies the raw stream the sequence belongs to: a
	// stream deleted and created again starts its sequences over.
	streamCreated time.Time
}

// encode writes the index: magic, salt, sequence, stream creation time,
// key count, the keys (64-bit hash, check, Unix seconds), and a CRC-32
// of everything before it.
func (x *keyIndex) encode(h snapshotHeader) []byte {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := make([]byte, 0, len(snapshotMagic)+16+24+x.keys.len()*snapshotEntry+4)
	b = append(b, snapshotMagic...)
	b = append(b, x.salt[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.streamCreated.UnixNano()))
	b = binary.LittleEndian.AppendUint64(b, uint64(x.keys.len()))
	x.keys.each(func(k uint64, e keyEntry) {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = binary.LittleEndian.AppendUint32(b, e.check)
		b = binary.LittleEndian.AppendUint32(b, e.at)
	})
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// decodeIndex reads a snapshot into a new index, leaving out keys stored
// longer ago than horizon before now.
func decodeIndex(b []byte, horizon time.Duration, now time.Time) (*keyIndex, snapshotHeader, error) {
	return readIndex(bytes.NewReader(b), horizon, now)
}

// readIndex is decodeIndex from a reader, key by key, so that a large
// snapshot is never held in memory next to the index it becomes.
func readIndex(r io.Reader, horizon time.Duration, now time.Time) (*keyIndex, snapshotHeader, error) {
	var h snapshotHeader
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(r, 64<<10)
	in := io.TeeReader(br, crc)
	fixed := make([]byte, len(snapshotMagic)+16+24)
	if _, err := io.ReadFull(in, fixed); err != nil || !bytes.HasPrefix(fixed, []byte(snapshotMagic)) {
		return nil, h, errors.New("not a dedupe index snapshot")
	}
	x := newKeyIndex(horizon)
	p := fixed[len(snapshotMagic):]
	copy(x.salt[:], p[:16])
	h.seq = binary.LittleEndian.Uint64(p[16:])
	h.streamCreated = time.Unix(0, int64(binary.LittleEndian.Uint64(p[24:])))
	n := binary.LittleEndian.Uint64(p[32:])
	if n > 1<<32 {
		return nil, h, fmt.Errorf("dedupe index snapshot claims %d keys", n)
	}
	cutoff := uint32(0)
	if horizon > 0 {
		cutoff = unixSeconds(now.Add(-horizon))
	}
	x.keys = newKeyTable(int(n))
	var e [snapshotEntry]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(in, e[:]); err != nil {
			return nil, h, fmt.Errorf("dedupe index snapshot ends after %d of %d keys", i, n)
		}
		k := keyEntry{check: binary.LittleEndian.Uint32(e[8:]), at: binary.LittleEndian.Uint32(e[12:])}
		if k.at >= cutoff {
			x.keys.put(binary.LittleEndian.Uint64(e[:]), k)
		}
	}
	sum := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil || binary.LittleEndian.Uint32(tail[:]) != sum {
		return nil, h, errors.New("dedupe index snapshot damaged (checksum)")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, h, errors.New("dedupe index snapshot has bytes after its checksum")
	}
	return x, h, nil
}

// loadSnapshot reads the latest snapshot. It returns nil without an error
// when there is none.
func loadSnapshot(ctx context.Context, js jetstream.JetStream, horizon time.Duration) (*keyIndex, snapshotHeader, error) {
	obs, err := js.ObjectStore(ctx, provision.ObjectDedupe)
	if err != nil {
		return nil, snapshotHeader{}, fmt.Errorf("opening object store %s: %w", provision.ObjectDedupe, err)
	}
	obj, err := obs.Get(ctx, snapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, snapshotHeader{}, nil
	}
	if err != nil {
		return nil, snapshotHeader{}, fmt.Errorf("reading dedupe index snapshot: %w", err)
	}
	defer obj.Close()
	x, h, err := readIndex(obj, horizon, time.Now())
	if err != nil {
		return nil, h, err
	}
	return x, h, nil
}

// saveSnapshot writes the index as of its last sequence read.
func (d *Deduper) saveSnapshot(ctx context.Context, js jetstream.JetStream) error {
	seq := d.LastSequence()
	b := d.idx.encode(snapshotHeader{seq: seq, streamCreated: d.streamCreated})
	obs, err := js.ObjectStore(ctx, provision.ObjectDedupe)
	if err != nil {
		return fmt.Errorf("opening object store %s: %w", provision.ObjectDedupe, err)
	}
	if _, err := obs.PutBytes(ctx, snapshotObject, b); err != nil {
		return fmt.Errorf("writing dedupe index snapshot: %w", err)
	}
	d.snapshotSeq = seq
	return nil
}
