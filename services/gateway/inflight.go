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

// chunkSize is the size of the pooled chunks a body larger than that, or
// of unknown length, is read into.
const chunkSize = 64 << 10

// chunkPool holds the chunks of bodies already answered, so that a flood of
// large bodies refused after reading (a wrong signature) reuses the same
// memory instead of leaving garbage behind for the collector.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// smallPools hold the buffers of bodies of declared length up to
// chunkSize, 1 KiB << i bytes in smallPools[i]: a body's buffer is less
// than twice its length, and the whole buffer is reserved in the budget.
var smallPools [7]sync.Pool

// smallClass returns the index in smallPools of the buffers that fit n
// bytes (n at most chunkSize).
func smallClass(n int64) int {
	c := 0
	for int64(1<<10)<<c < n {
		c++
	}
	return c
}

// requestBody is a request body as read: one pooled buffer for a small
// body of declared length, otherwise the pooled chunks it arrived in, with
// the bytes it holds in the budget. The signature is checked over the
// chunks; only a signed body is copied into one buffer (bytes).
type requestBody struct {
	chunks   [][]byte
	pooled   []*[]byte
	small    *[]byte
	class    int
	size     int64
	budget   *byteBudget
	reserved int64
}

// release gives the chunks back to the pool and everything reserved back
// to the budget; call it once the request has been answered.
func (b *requestBody) release() {
	for _, c := range b.pooled {
		chunkPool.Put(c)
	}
	if b.small != nil {
		smallPools[b.class].Put(b.small)
	}
	b.pooled, b.chunks, b.small = nil, nil, nil
	b.budget.release(b.reserved)
	b.reserved = 0
}

// bytes returns the body as one buffer, valid until release: a body that
// arrived in one chunk is returned as it is (a pooled chunk is reused once
// the request is answered), a longer one is copied into a buffer of its
// own, which takes the place of the chunks in the budget.
func (b *requestBody) bytes() []byte {
	if len(b.chunks) == 1 {
		return b.chunks[0]
	}
	whole := make([]byte, 0, b.size)
	for _, c := range b.chunks {
		whole = append(whole, c...)
	}
	// The chunks of a signed body are left to the collector rather than
	// kept in the pool next to the buffer that replaces them.
	b.chunks, b.pooled = [][]byte{whole}, nil
	return whole
}

// chunk takes a pooled chunk and returns its first n bytes.
func (b *requestBody) chunk(n int64) []byte {
	p := chunkPool.Get().(*[]byte)
	b.pooled = append(b.pooled, p)
	return (*p)[:n]
}

// readBody reads the whole body, at most limit bytes of it, inside budget.
// The returned body is never nil: its release gives back what it reserved,
// also on error. A declared Content-Length above limit is refused before a
// byte is read; a declared length is reserved as a whole before reading
// (up to chunkSize, the size of the pooled buffer it is read into); a
// body of unknown length reserves each chunk before reading into it. A
// larger body fails as soon as the cap is passed, without buffering the
// rest. Memory is taken as bytes arrive, so a client announcing a large
// body and sending little of it makes the gateway hold little.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, budget *byteBudget) (*requestBody, error) {
	b := &requestBody{budget: budget}
	if r.ContentLength > limit {
		return b, errDeclaredTooLarge
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 {
		return b, b.readChunks(rd, limit)
	}
	if r.ContentLength <= chunkSize {
		class := smallClass(r.ContentLength)
		size := int64(1<<10) << class
		if !budget.reserve(size) {
			return b, errBudgetFull
		}
		b.reserved = size
		p, _ := smallPools[class].Get().(*[]byte)
		if p == nil {
			buf := make([]byte, size)
			p = &buf
		}
		b.small, b.class = p, class
		buf := (*p)[:r.ContentLength]
		if _, err := io.ReadFull(rd, buf); err != nil {
			return b, err
		}
		b.chunks, b.size = [][]byte{buf}, r.ContentLength
		return b, nil
	}
	if !budget.reserve(r.ContentLength) {
		return b, errBudgetFull
	}
	b.reserved = r.ContentLength
	for b.size < r.ContentLength {
		c := b.chunk(min(chunkSize, r.ContentLength-b.size))
		if _, err := io.ReadFull(rd, c); err != nil {
			return b, err
		}
		b.chunks = append(b.chunks, c)
		b.size += int64(len(c))
	}
	return b, nil
}

// readChunks reads a body of unknown length into pooled chunks, each
// reserved in the budget before it is read into.
func (b *requestBody) readChunks(rd io.Reader, limit int64) error {
	for {
		size := min(chunkSize, limit+1-b.size)
		if !b.budget.reserve(size) {
			return errBudgetFull
		}
		b.reserved += size
		c := b.chunk(size)
		n, err := io.ReadFull(rd, c)
		if n > 0 {
			b.chunks = append(b.chunks, c[:n])
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
