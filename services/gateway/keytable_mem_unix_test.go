//go:build unix

package gateway

import (
	"runtime"
	"testing"
)

// TestKeyTableOutsideHeap: a table's slots are not in the Go heap, so the
// collector's target does not grow with them.
func TestKeyTableOutsideHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := newKeyTable(1 << 20) // 22 MB of slots
	for i := range uint64(1 << 20) {
		tab.put(i*0x9E3779B97F4A7C15+1, keyEntry{at: 1})
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Fatalf("the heap grew by %d bytes with a table of %d bytes", grew, len(tab.slots)*16)
	}
	five := uint64(5)
	if e, ok := tab.get(five*0x9E3779B97F4A7C15 + 1); !ok || e.at != 1 {
		t.Fatal("key missing")
	}
	runtime.KeepAlive(tab)
}
