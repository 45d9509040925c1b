package gateway

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// DefaultMaxInflightBytes is the default of GHNOTIFY_MAX_INFLIGHT_BYTES.
const DefaultMaxInflightBytes = 128 << 20

// errBudgetFull is a body that does not fit in what is left of the
// in-flight byte budget: the request is answered 503 with Retry-After.
var errBudgetFull = errors.New("in-flight body budget full")

// byteBudget bounds the request body bytes buffered at once, across every
// request, so that concurrent uploads cannot exhaust memory. A request
// reserves its declared Content-Length before reading, or, without one,
// reserves the buffer it grows as bytes arrive; it releases the
// reservation when it has been answered.
type byteBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	peak  int64
}

func newByteBudget(limit int64) *byteBudget { return &byteBudget{limit: limit} }

// reserve takes n bytes of the budget, or nothing when they do not fit.
func (b *byteBudget) reserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.used+n > b.limit {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

// release gives back n reserved bytes.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// inUse returns the bytes reserved now.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Chunks of a body of unknown length: the first is small, later ones grow
// with the body up to chunkMax.
const (
	chunkMin = 64 << 10
	chunkMax = 1 << 20
)

// requestBody is a request body as read: one buffer, or, for a body of
// unknown length, the chunks it arrived in (so that growing never copies
// nor leaves garbage behind), with the bytes it holds in the budget.
type requestBody struct {
	chunks   [][]byte
	size     int64
	budget   *byteBudget
	reserved int64
}

// release gives back everything the body reserved; call it once the
// request has been answered.
func (b *requestBody) release() {
	b.budget.release(b.reserved)
	b.reserved = 0
}

// bytes returns the body as one buffer. A body read in several chunks is
// assembled into a new buffer, reserved in the budget first (errBudgetFull
// when it does not fit); the chunks are given back once copied.
func (b *requestBody) bytes() ([]byte, error) {
	switch len(b.chunks) {
	case 0:
		return []byte{}, nil
	case 1:
		return b.chunks[0], nil
	}
	if !b.budget.reserve(b.size) {
		return nil, errBudgetFull
	}
	whole := make([]byte, 0, b.size)
	for _, c := range b.chunks {
		whole = append(whole, c...)
	}
	b.chunks = [][]byte{whole}
	b.budget.release(b.reserved)
	b.reserved = b.size
	return whole, nil
}

// readBody reads the whole body, at most limit bytes of it, inside budget.
// The returned body is never nil: its release gives back what it reserved,
// also on error. A declared Content-Length above limit is refused before a
// byte is read; a declared length is reserved as a whole before reading; a
// body of unknown length reserves each chunk before reading into it. A
// larger body fails as soon as the cap is passed, without buffering the
// rest.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, budget *byteBudget) (*requestBody, error) {
	b := &requestBody{budget: budget}
	if r.ContentLength > limit {
		return b, errDeclaredTooLarge
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength >= 0 {
		if !budget.reserve(r.ContentLength) {
			return b, errBudgetFull
		}
		b.reserved = r.ContentLength
		buf, err := readDeclared(rd, r.ContentLength)
		if err != nil {
			return b, err
		}
		b.chunks, b.size = [][]byte{buf}, int64(len(buf))
		return b, nil
	}
	return b, b.readChunks(rd, limit)
}

// readDeclared reads a body of declared length n. The buffer of a large
// body is allocated whole only once its first preallocMax bytes have
// arrived, so that a client announcing a large body and sending little of
// it makes the gateway allocate little.
func readDeclared(rd io.Reader, n int64) ([]byte, error) {
	first := min(n, preallocMax)
	buf := make([]byte, first)
	if _, err := io.ReadFull(rd, buf); err != nil {
		return nil, err
	}
	if n > first {
		whole := make([]byte, n)
		copy(whole, buf)
		if _, err := io.ReadFull(rd, whole[first:]); err != nil {
			return nil, err
		}
		buf = whole
	}
	return buf, nil
}

// readChunks reads a body of unknown length into chunks, each reserved in
// the budget before it is allocated.
func (b *requestBody) readChunks(rd io.Reader, limit int64) error {
	for {
		size := min(max(b.size, chunkMin), chunkMax, limit+1-b.size)
		if !b.budget.reserve(size) {
			return errBudgetFull
		}
		b.reserved += size
		chunk := make([]byte, size)
		n, err := io.ReadFull(rd, chunk)
		if n > 0 {
			b.chunks = append(b.chunks, chunk[:n])
			b.size += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return err
		}
	}
}
