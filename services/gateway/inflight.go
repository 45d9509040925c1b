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

// chunkedStart is the first buffer of a body of unknown length.
const chunkedStart = 64 << 10

// readBody reads the whole body, at most limit bytes of it, inside budget.
// It returns the body and the bytes it reserved, which the caller releases
// once the request is answered (also on error). A declared Content-Length
// above limit is refused before a byte is read; a declared length is
// reserved as a whole before reading, a body of unknown length reserves
// each buffer before growing into it. A larger body fails as soon as the
// cap is passed, without buffering the rest.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, budget *byteBudget) (body []byte, reserved int64, err error) {
	if r.ContentLength > limit {
		return nil, 0, errDeclaredTooLarge
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength >= 0 {
		if !budget.reserve(r.ContentLength) {
			return nil, 0, errBudgetFull
		}
		body, err := readDeclared(rd, r.ContentLength)
		return body, r.ContentLength, err
	}
	return readChunked(rd, limit, budget)
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

// readChunked reads a body of unknown length, doubling its buffer as bytes
// arrive; each larger buffer is reserved in budget before it is allocated
// (the old one is released once copied).
func readChunked(rd io.Reader, limit int64, budget *byteBudget) ([]byte, int64, error) {
	size := min(int64(chunkedStart), limit+1)
	if !budget.reserve(size) {
		return nil, 0, errBudgetFull
	}
	reserved := size
	buf := make([]byte, 0, size)
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, reserved, nil
		}
		if err != nil {
			return nil, reserved, err
		}
		if len(buf) < cap(buf) {
			continue
		}
		grown := min(2*int64(cap(buf)), limit+1)
		if !budget.reserve(grown) {
			return nil, reserved, errBudgetFull
		}
		next := make([]byte, len(buf), grown)
		copy(next, buf)
		budget.release(reserved)
		reserved, buf = grown, next
	}
}
