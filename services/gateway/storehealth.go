package gateway

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotStored marks a publish that reached JetStream, or should have, and
// was not stored: no PubAck in time (a stream with a write error, such as
// a full disk, does not answer), no JetStream responding, or an error
// answer. A publish refused because NATS is disconnected is not one.
var ErrNotStored = errors.New("jetstream did not store the delivery")

// storeFailureHold is how long a delivery that could not be stored keeps
// the gateway not ready, unless another is stored meanwhile. Deliveries are
// still attempted while not ready, so the first stored one ends it at once.
const storeFailureHold = 10 * time.Second

// storeHealth remembers the outcome of the most recent publishes, so that
// /readyz says not ready while deliveries cannot be stored although NATS
// is connected and the stream answers (a full disk leaves both true).
type storeHealth struct {
	now func() time.Time

	mu       sync.Mutex
	err      error
	failedAt time.Time
}

func newStoreHealth() *storeHealth { return &storeHealth{now: time.Now} }

// observe records the outcome of one publish: a stored delivery clears a
// failure, an ErrNotStored records one, other errors change nothing.
func (h *storeHealth) observe(err error) {
	if h == nil || err != nil && !errors.Is(err, ErrNotStored) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
	if err != nil {
		h.failedAt = h.now()
	}
}

// check fails while the last publish failed less than storeFailureHold ago.
func (h *storeHealth) check() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	if ago := h.now().Sub(h.failedAt); ago < storeFailureHold {
		return fmt.Errorf("the last delivery could not be stored (%s ago): %w", ago.Round(time.Millisecond), h.err)
	}
	return nil
}
