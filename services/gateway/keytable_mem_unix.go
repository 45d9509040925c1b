//go:build unix

package gateway

import (
	"syscall"
	"unsafe"
)

// allocSlots returns n zeroed slots in memory of their own, outside the
// Go heap, and the function that returns that memory to the system. The
// slots hold no pointers, so the collector never needs to see them; kept
// out of the heap they are not counted in its size either, which the
// collector lets grow to twice what is live before collecting (GOGC=100):
// a table of tens of MB would otherwise let as much garbage pile up
// beside it. When the system refuses the mapping, the slots come from the
// heap.
func allocSlots(n int) ([]keySlot, func()) {
	size := n * int(unsafe.Sizeof(keySlot{}))
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]keySlot, n), func() {}
	}
	return unsafe.Slice((*keySlot)(unsafe.Pointer(unsafe.SliceData(b))), n), func() { _ = syscall.Munmap(b) }
}
