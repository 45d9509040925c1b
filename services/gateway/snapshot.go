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
	snapshotMagic  = "ghnotify-dedupe-index v2\n"
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

// snapshotChunk is how many slots encodeTo copies under one read lock.
const snapshotChunk = 4096

// encodeTo writes the index: magic, salt, sequence, stream creation time,
// a size hint, then frames of keys (a count, then each key's 64-bit hash,
// check and Unix seconds) ending with an empty frame, the number of keys
// written, and a CRC-32 of everything before it.
//
// It copies the table a chunk at a time under the read lock, so lookups
// and additions go on while a snapshot of millions of keys is written,
// and nothing of its size is held in memory. That is consistent because
// only Follow's goroutine, which also writes snapshots, deletes keys, and
// a resize leaves the slots being read untouched (pinned, their memory
// stays until the snapshot is written): a key added meanwhile
// may be missing from the snapshot, but it belongs to a raw message after
// the snapshot's sequence (the stream's tail, read again at start), or is
// this gateway's own delivery, whose message is in that tail too.
func (x *keyIndex) encodeTo(w io.Writer, h snapshotHeader) error {
	x.mu.RLock()
	slots, salt, hint := x.keys.slots, x.salt, x.keys.len()
	mem := x.keys.pin() // a resize meanwhile leaves slots readable
	x.mu.RUnlock()
	defer mem.unpin()
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	head := append([]byte(snapshotMagic), salt[:]...)
	head = binary.LittleEndian.AppendUint64(head, h.seq)
	head = binary.LittleEndian.AppendUint64(head, uint64(h.streamCreated.UnixNano()))
	head = binary.LittleEndian.AppendUint64(head, uint64(hint))
	if _, err := bw.Write(head); err != nil {
		return err
	}
	buf := make([]byte, 4, 4+snapshotChunk*snapshotEntry)
	var total uint64
	for i := 0; i < len(slots); i += snapshotChunk {
		buf = buf[:4]
		x.mu.RLock()
		for _, s := range slots[i:min(i+snapshotChunk, len(slots))] {
			if s.h != 0 {
				buf = binary.LittleEndian.AppendUint64(buf, s.h)
				buf = binary.LittleEndian.AppendUint32(buf, s.e.check)
				buf = binary.LittleEndian.AppendUint32(buf, s.e.at)
			}
		}
		x.mu.RUnlock()
		n := (len(buf) - 4) / snapshotEntry
		if n == 0 {
			continue
		}
		binary.LittleEndian.PutUint32(buf, uint32(n))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		total += uint64(n)
	}
	tail := binary.LittleEndian.AppendUint32(nil, 0)
	tail = binary.LittleEndian.AppendUint64(tail, total)
	if _, err := bw.Write(tail); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// encode is encodeTo into memory.
func (x *keyIndex) encode(h snapshotHeader) []byte {
	var b bytes.Buffer
	_ = x.encodeTo(&b, h)
	return b.Bytes()
}

// decodeIndex reads a snapshot into a new index, leaving out keys stored
// longer ago than horizon before now.
func decodeIndex(b []byte, horizon time.Duration, now time.Time) (*keyIndex, snapshotHeader, error) {
	return readIndex(bytes.NewReader(b), horizon, now)
}

// readIndex is decodeIndex from a reader, frame by frame, so that a large
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
	x.keys = newKeyTable(int(min(binary.LittleEndian.Uint64(p[32:]), 1<<28)))
	cutoff := uint32(0)
	if horizon > 0 {
		cutoff = unixSeconds(now.Add(-horizon))
	}
	var total uint64
	buf := make([]byte, snapshotChunk*snapshotEntry)
	for {
		var cnt [4]byte
		if _, err := io.ReadFull(in, cnt[:]); err != nil {
			return nil, h, fmt.Errorf("dedupe index snapshot cut short after %d keys", total)
		}
		n := int(binary.LittleEndian.Uint32(cnt[:]))
		if n == 0 {
			break
		}
		if n > snapshotChunk {
			return nil, h, fmt.Errorf("dedupe index snapshot frame of %d keys", n)
		}
		if _, err := io.ReadFull(in, buf[:n*snapshotEntry]); err != nil {
			return nil, h, fmt.Errorf("dedupe index snapshot cut short after %d keys", total)
		}
		for e := buf[:n*snapshotEntry]; len(e) > 0; e = e[snapshotEntry:] {
			k := keyEntry{check: binary.LittleEndian.Uint32(e[8:]), at: binary.LittleEndian.Uint32(e[12:])}
			if k.at >= cutoff {
				x.keys.put(binary.LittleEndian.Uint64(e), k)
			}
		}
		total += uint64(n)
	}
	var count [8]byte
	if _, err := io.ReadFull(in, count[:]); err != nil || binary.LittleEndian.Uint64(count[:]) != total {
		return nil, h, errors.New("dedupe index snapshot damaged (key count)")
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
	obs, err := js.ObjectStore(ctx, provision.ObjectDedupe)
	if err != nil {
		return fmt.Errorf("opening object store %s: %w", provision.ObjectDedupe, err)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(d.idx.encodeTo(pw, snapshotHeader{seq: seq, streamCreated: d.streamCreated}))
	}()
	_, err = obs.Put(ctx, jetstream.ObjectMeta{Name: snapshotObject}, pr)
	pr.CloseWithError(errors.New("snapshot upload ended")) // unblocks the encoder if Put stopped early
	if err != nil {
		return fmt.Errorf("writing dedupe index snapshot: %w", err)
	}
	d.snapshotSeq = seq
	return nil
}
