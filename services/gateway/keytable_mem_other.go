//go:build !unix

package gateway

// allocSlots returns n zeroed slots from the Go heap (see the Unix
// version, which maps them outside it).
func allocSlots(n int) ([]keySlot, func()) {
	return make([]keySlot, n), func() {}
}
