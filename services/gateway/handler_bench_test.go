package gateway

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway/internal/loadtest"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/rs/zerolog"
)

// msgStore builds the raw message as the Publisher does and stores nothing,
// so that the benchmark measures the gateway's own work without NATS.
type msgStore struct{ seq atomic.Uint64 }

func (s *msgStore) Publish(_ context.Context, d *delivery.Delivery) (uint64, bool, error) {
	if m := d.Msg(); len(m.Header) == 0 {
		return 0, false, nil
	}
	return s.seq.Add(1), false, nil
}

// BenchmarkWebhook is one stored 7 KiB delivery through the gateway's
// router and handler, with the real dedupe index (body dedupe on), metrics
// and logger, and a store that builds the raw message and publishes
// nothing: the CPU and allocations the gateway adds to a publish.
func BenchmarkWebhook(b *testing.B) {
	allow, err := NewAllowlist(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	m := newMetrics(nil)
	dedupe := NewDeduper(true, time.Hour, zerolog.Nop())
	dedupe.markReady()
	log := zerolog.New(nil).Level(zerolog.InfoLevel)
	wh := &webhookHandler{
		allow:    allow,
		verifier: NewVerifier([]config.Secret{testSecret}),
		maxBody:  25 << 20,
		budget:   newByteBudget(128 << 20),
		retry:    "5",
		ingest: &Ingester{store: &msgStore{}, dedupe: dedupe, traces: &fakeTraces{}, metrics: m,
			timeout: time.Second, claims: claimsFor(true), health: newStoreHealth()},
		metrics: m,
		sampler: newRefusalSampler(zerolog.Nop(), nil, refusalLogBurst, refusalLogInterval),
		log:     log,
	}
	h := routes(wh, m, nil)
	template, slot := loadtest.Payload(7 << 10)
	body := bytes.Clone(template)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	// Requests are built in batches with the timer stopped (stopping it
	// per request costs more than the request).
	const batch = 512
	reqs := make([]*http.Request, 0, batch)
	b.ResetTimer()
	for done := 0; done < b.N; done += len(reqs) {
		b.StopTimer()
		reqs = reqs[:0]
		for i := done; i < min(b.N, done+batch); i++ {
			n := strconv.Itoa(i)
			copy(body[slot+12-len(n):slot+12], n)
			r := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(bytes.Clone(body)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(headerEvent, "issues")
			r.Header.Set(headerDelivery, "bench-"+n)
			r.Header.Set(headerHookID, "123")
			r.Header.Set("User-Agent", "GitHub-Hookshot/abc")
			r.Header.Set(headerSignature256, Sign(testSecret, body))
			reqs = append(reqs, r)
		}
		b.StartTimer()
		for _, r := range reqs {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusAccepted {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
}
