package gateway

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestKeyTableMatchesMap runs random puts, lookups and pruning on the
// table and on a Go map, with hashes drawn from a small range so that
// probe runs collide, wrap around the end and are cut by deletions: both
// must hold the same keys throughout.
func TestKeyTableMatchesMap(t *testing.T) {
	t.Parallel()
	for _, spread := range []uint64{3000, 1 << 63} {
		r := rand.New(rand.NewPCG(1, spread))
		tab := newKeyTable(0)
		ref := map[uint64]keyEntry{}
		hash := func() uint64 {
			if spread == 1<<63 {
				return r.Uint64()
			}
			// Few distinct hashes, many near the top of the range, so
			// that home slots crowd at the end and runs wrap.
			return ^uint64(0) - r.Uint64N(spread)*(1<<50)
		}
		for round := range 40 {
			for range 2500 {
				h := hash()
				e := keyEntry{check: r.Uint32(), at: uint32(r.IntN(100))}
				tab.put(h, e)
				ref[fixHash(h)] = e
			}
			cut := uint32(r.IntN(60))
			tab.deleteIf(func(e keyEntry) bool { return e.at < cut })
			for h, e := range ref {
				if e.at < cut {
					delete(ref, h)
				}
			}
			if tab.len() != len(ref) {
				t.Fatalf("spread %d round %d: table holds %d keys, map %d", spread, round, tab.len(), len(ref))
			}
			for h, e := range ref {
				if got, ok := tab.get(h); !ok || got != e {
					t.Fatalf("spread %d round %d: key %x = %+v, %v; want %+v", spread, round, h, got, ok, e)
				}
			}
			n := 0
			tab.each(func(h uint64, e keyEntry) {
				n++
				if ref[h] != e {
					t.Fatalf("spread %d round %d: table has %x = %+v, map %+v", spread, round, h, e, ref[h])
				}
			})
			if n != len(ref) {
				t.Fatalf("each visited %d keys, want %d", n, len(ref))
			}
			for range 200 {
				h := hash()
				_, want := ref[fixHash(h)]
				if _, ok := tab.get(h); ok != want {
					t.Fatalf("lookup of %x = %v, want %v", h, ok, want)
				}
			}
		}
	}
}

func TestKeyTableSize(t *testing.T) {
	t.Parallel()
	tab := newKeyTable(0)
	const n = 200_000
	for i := range uint64(n) {
		tab.put(i*0x9E3779B97F4A7C15+1, keyEntry{at: 1})
	}
	if per := float64(len(tab.slots)*16) / n; per > 27.5 {
		t.Fatalf("%.1f bytes a key at %d keys, want at most 27.5", per, n)
	}
	sized := newKeyTable(n)
	for i := range uint64(n) {
		sized.put(i*0x9E3779B97F4A7C15+1, keyEntry{at: 1})
	}
	if per := float64(len(sized.slots)*16) / n; per > 21.5 {
		t.Fatalf("a table sized for its keys takes %.1f bytes a key, want at most 21.5", per)
	}
	// Sized for its keys, it takes a sixth more before growing.
	slots := len(sized.slots)
	for i := range uint64(n / 6) {
		sized.put((n+i)*0x9E3779B97F4A7C15+1, keyEntry{at: 1})
	}
	if len(sized.slots) != slots {
		t.Fatalf("a table sized for %d keys resized after %d more", n, n/6)
	}
	tab.deleteIf(func(keyEntry) bool { return true })
	if tab.len() != 0 || len(tab.slots) != minTableSlots {
		t.Fatalf("after deleting everything: %d keys in %d slots", tab.len(), len(tab.slots))
	}
}

// TestSlotsMemFreedOnceUnpinned: memory released while a reader has it
// pinned is freed when the last reader is done, and only once.
func TestSlotsMemFreedOnceUnpinned(t *testing.T) {
	t.Parallel()
	freed := 0
	m := &slotsMem{free: func() { freed++ }}
	m.pins.Add(2)
	m.release()
	m.unpin()
	if freed != 0 {
		t.Fatal("freed while still pinned")
	}
	m.unpin()
	m.release()
	if freed != 1 {
		t.Fatalf("freed %d times, want once", freed)
	}
}

// TestSnapshotDuringResize resizes the table while a snapshot is being
// written from its old slots: they stay readable, and the snapshot holds
// every key.
func TestSnapshotDuringResize(t *testing.T) {
	t.Parallel()
	now := time.Unix(2_000_000, 0)
	x := newKeyIndex(time.Hour)
	const n = 4 * snapshotChunk
	for i := range n {
		x.add(DeliveryKey(fmt.Sprint(i)), now)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(x.encodeTo(pw, snapshotHeader{seq: 1})) }()
	var got bytes.Buffer
	buf := make([]byte, 1000)
	k, err := io.ReadFull(pr, buf) // the encoder has its slots now
	if err != nil {
		t.Fatal(err)
	}
	got.Write(buf[:k])
	x.mu.Lock()
	x.keys.resize(len(x.keys.slots) * 2)
	x.keys.resize(len(x.keys.slots) * 2)
	x.mu.Unlock()
	if _, err := io.Copy(&got, pr); err != nil {
		t.Fatal(err)
	}
	y, _, err := decodeIndex(got.Bytes(), time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !y.has(DeliveryKey(fmt.Sprint(i))) {
			t.Fatalf("key %d missing", i)
		}
	}
}
