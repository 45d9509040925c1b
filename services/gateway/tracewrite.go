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
