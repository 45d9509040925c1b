package gateway

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// keyTable is the dedupe index's storage: an open-addressing hash table of
// 16-byte slots (linear probing, deletion by backward shift, so no
// tombstones), kept between 7/12 and 7/8 full. A Go map of the same
// entries rounds its capacity up to a power of two and measured 36 bytes a
// key at two million keys; this table holds them in 18 to 27 bytes.
//
// The hash 0 marks an empty slot; a key hashing to 0 is stored as 1 (one
// more 64-bit collision, which the index already tolerates).
//
// The slots live outside the Go heap (allocSlots). The memory of a table
// replaced by a resize is returned at once unless a snapshot being written
// still reads it (pin), and then when that snapshot is done; the memory
// of a table dropped as a whole (an index replaced by its snapshot, a
// snapshot that failed to decode) is returned once the collector finds the
// table unreachable.
type keyTable struct {
	slots []keySlot
	n     int
	// mem is the memory of slots, in a holder that outlives resizes.
	mem *slotsHolder
}

type slotsHolder struct{ cur *slotsMem }

// slotsMem is one allocation of slots.
type slotsMem struct {
	free func()
	pins atomic.Int32
	dead atomic.Bool
	once sync.Once
}

// release frees the memory once no reader has it pinned.
func (m *slotsMem) release() {
	m.dead.Store(true)
	if m.pins.Load() == 0 {
		m.once.Do(m.free)
	}
}

// unpin ends a reader's use of the memory, freeing it when it was
// released meanwhile.
func (m *slotsMem) unpin() {
	if m.pins.Add(-1) == 0 && m.dead.Load() {
		m.once.Do(m.free)
	}
}

// newSlotsTable returns an empty table of size slots.
func newSlotsTable(size int) *keyTable {
	t := &keyTable{mem: &slotsHolder{}}
	t.setSlots(size)
	runtime.AddCleanup(t, func(h *slotsHolder) { h.cur.release() }, t.mem)
	return t
}

// setSlots gives the table size empty slots, releasing the old ones.
func (t *keyTable) setSlots(size int) {
	slots, free := allocSlots(size)
	old := t.mem.cur
	t.slots, t.mem.cur = slots, &slotsMem{free: free}
	if old != nil {
		old.release()
	}
}

// pin keeps the current slots' memory until unpin is called on what it
// returns, even if the table is resized meanwhile. The caller holds the
// index's lock.
func (t *keyTable) pin() *slotsMem {
	m := t.mem.cur
	m.pins.Add(1)
	return m
}

type keySlot struct {
	h uint64
	e keyEntry
}

// minTableSlots is the smallest table allocated.
const minTableSlots = 1024

// newKeyTable returns a table sized for n keys, 3/4 full once they are
// in: a table loaded with a snapshot's keys takes new ones (and drops old
// ones as they pass the horizon) without resizing at the first addition,
// which would allocate a table half as large again next to it.
func newKeyTable(n int) *keyTable {
	return newSlotsTable(max(minTableSlots, n*4/3+1))
}

func fixHash(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// home is the slot where a search for h starts.
func (t *keyTable) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(hi)
}

func (t *keyTable) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

// find returns the slot holding h, or the empty slot where it would go.
func (t *keyTable) find(h uint64) (int, bool) {
	for i := t.home(h); ; i = t.next(i) {
		switch t.slots[i].h {
		case h:
			return i, true
		case 0:
			return i, false
		}
	}
}

func (t *keyTable) get(h uint64) (keyEntry, bool) {
	i, ok := t.find(fixHash(h))
	return t.slots[i].e, ok
}

// put stores e under h, replacing what was there.
func (t *keyTable) put(h uint64, e keyEntry) {
	h = fixHash(h)
	i, ok := t.find(h)
	if ok {
		t.slots[i].e = e
		return
	}
	if (t.n+1)*8 > len(t.slots)*7 {
		t.resize(len(t.slots) * 3 / 2)
		i, _ = t.find(h)
	}
	t.slots[i] = keySlot{h: h, e: e}
	t.n++
}

// resize moves every key into a table of size slots.
func (t *keyTable) resize(size int) {
	old, oldMem := t.slots, t.mem.cur
	oldMem.pins.Add(1) // read below after setSlots released it
	t.setSlots(max(size, minTableSlots))
	for _, s := range old {
		if s.h != 0 {
			i, _ := t.find(s.h)
			t.slots[i] = s
		}
	}
	oldMem.unpin()
}

// deleteAt empties slot i and moves back the keys after it that a search
// would no longer reach.
func (t *keyTable) deleteAt(i int) {
	t.slots[i] = keySlot{}
	t.n--
	for j := t.next(i); t.slots[j].h != 0; j = t.next(j) {
		k := t.home(t.slots[j].h)
		// The key at j may fill the hole at i when its home is not
		// cyclically within (i, j].
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			t.slots[i] = t.slots[j]
			t.slots[j] = keySlot{}
			i = j
		}
	}
}

// deleteIf removes every key for which drop is true, and shrinks the
// table when it is left less than 7/24 full.
func (t *keyTable) deleteIf(drop func(keyEntry) bool) {
	for i := 0; i < len(t.slots); {
		if t.slots[i].h != 0 && drop(t.slots[i].e) {
			t.deleteAt(i) // a later key may have moved into i: look again
			continue
		}
		i++
	}
	if len(t.slots) > minTableSlots && t.n*24 < len(t.slots)*7 {
		t.resize(t.n*8/7 + 1)
	}
}

// each calls fn for every key.
func (t *keyTable) each(fn func(h uint64, e keyEntry)) {
	for _, s := range t.slots {
		if s.h != 0 {
			fn(s.h, s.e)
		}
	}
}

func (t *keyTable) len() int { return t.n }
