package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/rs/zerolog"
)

// traceWriter writes trace records in the background, best-effort: a
// failure is logged and counted, and never fails the request. At most
// limit writes are in flight; beyond that records are dropped (and counted)
// rather than letting a slow trace bucket hold up deliveries.
type traceWriter struct {
	store   *trace.Store
	log     zerolog.Logger
	metrics *metrics
	timeout time.Duration
	sem     chan struct{}
	wg      sync.WaitGroup
}

func newTraceWriter(store *trace.Store, limit int, timeout time.Duration, m *metrics, log zerolog.Logger) *traceWriter {
	return &traceWriter{store: store, log: log, metrics: m, timeout: timeout, sem: make(chan struct{}, limit)}
}

// Record writes rec under key in the background.
func (t *traceWriter) Record(key string, rec trace.Record) {
	select {
	case t.sem <- struct{}{}:
	default:
		t.metrics.traceFailures.Inc()
		t.log.Warn().Str("delivery", rec.DeliveryID).Str("event", rec.Event).Msg("trace writes backed up; trace record dropped")
		return
	}
	t.wg.Add(1)
	go func() {
		defer func() { <-t.sem; t.wg.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
		defer cancel()
		if err := t.store.Put(ctx, key, rec); err != nil {
			t.metrics.traceFailures.Inc()
			t.log.Warn().Err(err).Str("delivery", rec.DeliveryID).Str("event", rec.Event).Msg("writing trace record failed")
		}
	}()
}

// Wait waits for the writes in flight.
func (t *traceWriter) Wait() { t.wg.Wait() }

// Defaults of the duplicate trace write limit.
const (
	traceRepeatWindow = time.Minute
	traceRatePerSec   = 10
	traceBurst        = 100
	traceRecentMax    = 10000
)

// traceLimiter bounds the duplicate trace records written on behalf of
// unsigned input: a signed body can be replayed with any delivery id and
// event name, and each replay is a duplicate. A key already written within
// the repeat window is not written again, and all writes together stay
// under a rate (a token bucket); what is skipped is counted.
type traceLimiter struct {
	next    traceRecorder
	now     func() time.Time
	window  time.Duration
	rate    float64
	burst   float64
	skipped interface{ Inc() }

	mu     sync.Mutex
	tokens float64
	last   time.Time
	recent map[string]time.Time
}

func newTraceLimiter(next traceRecorder, now func() time.Time, skipped interface{ Inc() }) *traceLimiter {
	if now == nil {
		now = time.Now
	}
	return &traceLimiter{next: next, now: now, window: traceRepeatWindow, rate: traceRatePerSec, burst: traceBurst,
		skipped: skipped, tokens: traceBurst, recent: map[string]time.Time{}}
}

// Record passes rec on unless its key was written within the window or
// the write rate is exceeded.
func (l *traceLimiter) Record(key string, rec trace.Record) {
	if !l.admit(key) {
		l.skipped.Inc()
		return
	}
	l.next.Record(key, rec)
}

func (l *traceLimiter) admit(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if at, ok := l.recent[key]; ok && now.Sub(at) < l.window {
		return false
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	if len(l.recent) >= traceRecentMax {
		for k, at := range l.recent {
			if now.Sub(at) >= l.window {
				delete(l.recent, k)
			}
		}
	}
	// Past the bound (every key recent), a key is simply not remembered:
	// the rate still holds.
	if len(l.recent) < traceRecentMax {
		l.recent[key] = now
	}
	return true
}
