package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

// TestConcurrentReplaysOfOneBodyStoredOnce posts many pairs of deliveries,
// each pair one body under two delivery ids, both requests of a pair at the
// same time: exactly one of each pair is stored, the other is answered as a
// duplicate body.
func TestConcurrentReplaysOfOneBodyStoredOnce(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	const pairs = 100
	type answer struct {
		pair   int
		status int
		resp   response
		err    error
	}
	answers := make(chan answer, 2*pairs)
	post := func(pair int, id string, body []byte, start *sync.WaitGroup) {
		start.Wait()
		req, err := http.NewRequest(http.MethodPost, g.url+WebhookPath, bytes.NewReader(body))
		if err != nil {
			answers <- answer{pair: pair, err: err}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(headerEvent, "issues")
		req.Header.Set(headerDelivery, id)
		req.Header.Set(headerSignature256, Sign(testSecret, body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{pair: pair, err: err}
			return
		}
		defer res.Body.Close()
		var r response
		err = json.NewDecoder(res.Body).Decode(&r)
		answers <- answer{pair: pair, status: res.StatusCode, resp: r, err: err}
	}
	for p := range pairs {
		body := []byte(fmt.Sprintf(`{"action":"opened","issue":{"number":%d}}`, p))
		var start sync.WaitGroup
		start.Add(1)
		go post(p, fmt.Sprintf("pair-%d-a", p), body, &start)
		go post(p, fmt.Sprintf("pair-%d-b", p), body, &start)
		start.Done()
	}
	stored := make([]int, pairs)
	duplicates := make([]int, pairs)
	for range 2 * pairs {
		a := <-answers
		switch {
		case a.err != nil:
			t.Fatalf("pair %d: %v", a.pair, a.err)
		case a.status == http.StatusAccepted:
			stored[a.pair]++
		case a.status == http.StatusOK && a.resp.Reason == ReasonBody:
			duplicates[a.pair]++
		default:
			t.Fatalf("pair %d: answered %d %+v", a.pair, a.status, a.resp)
		}
	}
	got := rawMessages(t, ns.JS)
	twice := 0
	for p := range pairs {
		a, b := len(got[fmt.Sprintf("pair-%d-a", p)]), len(got[fmt.Sprintf("pair-%d-b", p)])
		if a+b != 1 || stored[p] != 1 || duplicates[p] != 1 {
			twice++
			t.Errorf("pair %d: stored %d+%d times, answered stored %d, duplicate %d; want 1 stored, 1 duplicate", p, a, b, stored[p], duplicates[p])
		}
	}
	if twice > 0 {
		t.Fatalf("%d of %d pairs not stored exactly once", twice, pairs)
	}
}

// gatedStore holds every publish of one body until gate is closed, fails
// the first of them, and counts how many were in flight at once.
type gatedStore struct {
	fakeStore
	body    string
	gate    chan struct{}
	entered chan struct{}

	mu       sync.Mutex
	inFlight int
	most     int
	calls    int
}

func (g *gatedStore) Publish(ctx context.Context, d *delivery.Delivery) (uint64, bool, error) {
	if string(d.Body) != g.body {
		return g.fakeStore.Publish(ctx, d)
	}
	g.mu.Lock()
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	g.calls++
	first := g.calls == 1
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	if first {
		close(g.entered)
	}
	<-g.gate
	if first {
		return 0, false, errors.New("insufficient resources")
	}
	return g.fakeStore.Publish(ctx, d)
}

// TestBodyClaimWaitsForFirstOutcome checks the in-flight claim: while one
// request with a body is being published, another with the same body waits
// for it and, the first having failed, stores it itself; a request with
// another body meanwhile is not held up.
func TestBodyClaimWaitsForFirstOutcome(t *testing.T) {
	t.Parallel()
	store := &gatedStore{body: `{"same":true}`, gate: make(chan struct{}), entered: make(chan struct{})}
	in := &Ingester{store: store, dedupe: &fakeDedupe{bodies: true}, traces: &fakeTraces{}, metrics: newMetrics(nil), timeout: 30 * time.Second, claims: newBodyClaims()}
	type outcome struct {
		res Result
		err error
	}
	first, second := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		r, err := in.Ingest(context.Background(), Identity{Event: "issues", DeliveryID: "first"}, []byte(store.body), bodyKeyUnsigned([]byte(store.body)), time.Now())
		first <- outcome{r, err}
	}()
	<-store.entered
	go func() {
		r, err := in.Ingest(context.Background(), Identity{Event: "issues", DeliveryID: "second"}, []byte(store.body), bodyKeyUnsigned([]byte(store.body)), time.Now())
		second <- outcome{r, err}
	}()
	// Another body goes through while the first one's publish is held.
	if r, err := in.Ingest(context.Background(), Identity{Event: "issues", DeliveryID: "other"}, []byte(`{"other":true}`), bodyKeyUnsigned([]byte(`{"other":true}`)), time.Now()); err != nil || r.Outcome != Stored {
		t.Fatalf("other body while the first is in flight: %+v, %v", r, err)
	}
	close(store.gate)
	if o := <-first; !errors.Is(o.err, ErrUnavailable) {
		t.Fatalf("first = %+v, %v; want ErrUnavailable", o.res, o.err)
	}
	if o := <-second; o.err != nil || o.res.Outcome != Stored {
		t.Fatalf("second, after the first failed = %+v, %v; want stored", o.res, o.err)
	}
	if r, err := in.Ingest(context.Background(), Identity{Event: "issues", DeliveryID: "third"}, []byte(store.body), bodyKeyUnsigned([]byte(store.body)), time.Now()); err != nil || r.Outcome != Duplicate || r.Reason != ReasonBody {
		t.Fatalf("third, after the second was stored = %+v, %v; want duplicate body", r, err)
	}
	if store.most != 1 || store.calls != 2 {
		t.Fatalf("publishes of one body: %d at once, %d in all; want 1 and 2", store.most, store.calls)
	}
	if n := in.claims.held(); n != 0 {
		t.Fatalf("%d claims still held", n)
	}
}

// TestBodyClaimWaitEndsWithContext checks that a request waiting for
// another with the same body gives up when its deadline passes.
func TestBodyClaimWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	c := newBodyClaims()
	sum := sha256.Sum256([]byte("x"))
	release, err := c.claim(context.Background(), sum)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.claim(ctx, sum); !errors.Is(err, context.Canceled) {
		t.Fatalf("claim while held, context ended = %v", err)
	}
	release()
	release2, err := c.claim(ctx, sum)
	if err != nil {
		t.Fatalf("claim after release = %v", err)
	}
	release2()
	if c.held() != 0 {
		t.Fatalf("%d claims held", c.held())
	}
}

// BenchmarkBodyClaims measures taking and releasing the claim of distinct
// bodies from parallel goroutines, as concurrent requests do.
func BenchmarkBodyClaims(b *testing.B) {
	c := newBodyClaims()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		var sum [32]byte
		for pb.Next() {
			n := next.Add(1)
			for i := range 8 {
				sum[i] = byte(n >> (8 * i))
			}
			release, err := c.claim(context.Background(), sum)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
}
