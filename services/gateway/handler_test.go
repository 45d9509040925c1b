package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/rs/zerolog"
)

const testSecret = "test-secret"

// fakeStore is a rawStore in memory.
type fakeStore struct {
	mu        sync.Mutex
	published []*delivery.Delivery
	seen      map[string]bool
	err       error
}

func (f *fakeStore) Publish(_ context.Context, d *delivery.Delivery) (uint64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, false, f.err
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[d.ID] {
		return 1, true, nil
	}
	f.seen[d.ID] = true
	// The body's buffer is the request's, reused once it is answered.
	kept := *d
	kept.Body = bytes.Clone(d.Body)
	f.published = append(f.published, &kept)
	return uint64(len(f.published)), false, nil
}

// fixtureFirstSecret is the first of the fixture's two secrets: requests
// are signed with the second (testSecret), and body keys derive from the
// first.
const fixtureFirstSecret = "retired"

// fakeDedupe is a dedupeStore in memory.
type fakeDedupe struct {
	mu     sync.Mutex
	keys   map[string]bool
	err    error
	bodies bool
}

func (f *fakeDedupe) lookup(_ context.Context, id, key string) (string, indexKeys, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := indexKeys{deliveryID: id, bodyKey: key}
	switch {
	case f.err != nil:
		return "", k, f.err
	case f.keys[DeliveryKey(id)]:
		return ReasonDeliveryID, k, nil
	case f.bodies && f.keys[BodyKey(key)]:
		return ReasonBody, k, nil
	}
	return "", k, nil
}

func (f *fakeDedupe) rememberKeys(k indexKeys, _ uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	f.keys[DeliveryKey(k.deliveryID)] = true
	f.keys[BodyKey(k.bodyKey)] = true
}

// fakeTraces records trace records in memory.
type fakeTraces struct {
	mu   sync.Mutex
	recs map[string]trace.Record
}

func (f *fakeTraces) Record(key string, rec trace.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recs == nil {
		f.recs = map[string]trace.Record{}
	}
	f.recs[key] = rec
}

type fixture struct {
	store   *fakeStore
	dedupe  *fakeDedupe
	traces  *fakeTraces
	handler http.Handler
	// ops serves the operations endpoints (/metrics) of the handler.
	ops http.Handler
	wh  *webhookHandler
}

func newFixture(t *testing.T, mutate func(*webhookHandler)) *fixture {
	t.Helper()
	allow, err := NewAllowlist(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(nil)
	f := &fixture{store: &fakeStore{}, dedupe: &fakeDedupe{bodies: true}, traces: &fakeTraces{}}
	wh := &webhookHandler{
		allow:    allow,
		verifier: NewVerifier([]config.Secret{fixtureFirstSecret, testSecret}),
		maxBody:  4 << 10,
		budget:   newByteBudget(64 << 10),
		retry:    "5",
		ingest:   &Ingester{store: f.store, dedupe: f.dedupe, traces: f.traces, metrics: m, timeout: time.Second},
		metrics:  m,
		log:      zerolog.Nop(),
	}
	if mutate != nil {
		mutate(wh)
	}
	if wh.sampler == nil {
		// Every refusal logged, as tests of log lines expect.
		wh.sampler = newRefusalSampler(wh.log, nil, 1<<30, time.Hour)
	}
	f.handler, f.wh = routes(wh, m, nil), wh
	f.ops = ops.Handler(false, ops.Endpoints{Metrics: wh.metrics.handler()})
	return f
}

// webhookRequest builds a signed delivery; edit modifies it before signing
// is checked (it may replace headers or the body).
func webhookRequest(method, body, contentType, event, id string) *http.Request {
	r := httptest.NewRequest(method, WebhookPath, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set(headerEvent, event)
	r.Header.Set(headerDelivery, id)
	r.Header.Set(headerHookID, "123")
	r.Header.Set(headerSignature256, Sign(testSecret, []byte(body)))
	return r
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) response {
	t.Helper()
	var resp response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %q is not JSON: %v", rec.Body.String(), err)
	}
	return resp
}

func TestWebhookStatusPaths(t *testing.T) {
	t.Parallel()
	const payload = `{"action":"opened","issue":{"number":1}}`
	form := "payload=" + url.QueryEscape(payload)
	big := `{"pad":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name    string
		mutate  func(*webhookHandler)
		prepare func(*fixture)
		req     func() *http.Request
		status  int
		stored  bool
		status2 string
		// bodyKey is the stored body key when it is not that of payload
		// (derived from the fixture's first secret).
		bodyKey string
	}{
		{name: "json stored", status: 202, stored: true, status2: "stored",
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "json with charset stored", status: 202, stored: true,
			req: func() *http.Request {
				return webhookRequest("POST", payload, "application/json; charset=utf-8", "issues", "d-1")
			}},
		{name: "form stored", status: 202, stored: true, bodyKey: bodyKeyHex(fixtureFirstSecret, []byte(form)),
			req: func() *http.Request {
				return webhookRequest("POST", form, "application/x-www-form-urlencoded", "issues", "d-1")
			}},
		{name: "unknown event stored", status: 202, stored: true,
			req: func() *http.Request {
				return webhookRequest("POST", payload, "application/json", "future_event", "d-1")
			}},
		{name: "GET is 405", status: 405,
			req: func() *http.Request { return webhookRequest("GET", payload, "application/json", "issues", "d-1") }},
		{name: "PUT is 405", status: 405,
			req: func() *http.Request { return webhookRequest("PUT", payload, "application/json", "issues", "d-1") }},
		{name: "outside allowlist is 403", status: 403,
			mutate: func(h *webhookHandler) { h.allow, _ = NewAllowlist([]string{"192.30.252.0/22"}, nil) },
			req:    func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "allowlist checked before size", status: 403,
			mutate: func(h *webhookHandler) { h.allow, _ = NewAllowlist([]string{"192.30.252.0/22"}, nil) },
			req:    func() *http.Request { return webhookRequest("POST", big, "application/json", "issues", "d-1") }},
		{name: "declared too large is 413", status: 413,
			req: func() *http.Request { return webhookRequest("POST", big, "application/json", "issues", "d-1") }},
		{name: "chunked too large is 413", status: 413,
			req: func() *http.Request {
				r := webhookRequest("POST", big, "application/json", "issues", "d-1")
				r.ContentLength = -1
				return r
			}},
		{name: "size checked before headers", status: 413,
			req: func() *http.Request { return webhookRequest("POST", big, "application/json", "", "") }},
		{name: "missing event is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "", "d-1") }},
		{name: "missing delivery is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "") }},
		{name: "event too long is 400", status: 400,
			req: func() *http.Request {
				return webhookRequest("POST", payload, "application/json", strings.Repeat("e", 65), "d-1")
			}},
		{name: "event not a token is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues.>", "d-1") }},
		{name: "event with space is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "is sues", "d-1") }},
		{name: "delivery too long is 400", status: 400,
			req: func() *http.Request {
				return webhookRequest("POST", payload, "application/json", "issues", strings.Repeat("d", 65))
			}},
		{name: "delivery with control character is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d\x01") }},
		{name: "delivery with space is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d 1") }},
		{name: "delivery not ASCII is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "dé") }},
		{name: "spoofed X-Forwarded-For from an untrusted peer is ignored (403)", status: 403,
			mutate: func(h *webhookHandler) {
				h.allow, _ = NewAllowlist([]string{"192.30.252.0/22"}, []string{"10.0.0.0/8"})
			},
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1") // from 192.0.2.1
				r.Header.Set("X-Forwarded-For", "192.30.252.10")
				return r
			}},
		{name: "spoofed X-Forwarded-For cannot shut out an allowed peer", status: 202, stored: true,
			mutate: func(h *webhookHandler) { h.allow, _ = NewAllowlist([]string{"192.0.2.0/24"}, nil) },
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Set("X-Forwarded-For", "198.51.100.1")
				return r
			}},
		{name: "X-Forwarded-For from a trusted proxy is believed", status: 202, stored: true,
			mutate: func(h *webhookHandler) {
				h.allow, _ = NewAllowlist([]string{"192.30.252.0/22"}, []string{"192.0.2.0/24"})
			},
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Set("X-Forwarded-For", "198.51.100.1, 192.30.252.10")
				return r
			}},
		{name: "headers checked before content type", status: 400,
			req: func() *http.Request {
				return webhookRequest("POST", payload, "text/plain", "issues", strings.Repeat("d", 65))
			}},
		{name: "text/plain is 415", status: 415,
			req: func() *http.Request { return webhookRequest("POST", payload, "text/plain", "issues", "d-1") }},
		{name: "no content type is 415", status: 415,
			req: func() *http.Request { return webhookRequest("POST", payload, "", "issues", "d-1") }},
		{name: "content type checked before signature", status: 415,
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "text/plain", "issues", "d-1")
				r.Header.Del(headerSignature256)
				return r
			}},
		{name: "missing signature is 401", status: 401,
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Del(headerSignature256)
				return r
			}},
		{name: "sha1 only is 401", status: 401,
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Del(headerSignature256)
				r.Header.Set(headerSignatureSHA1, "sha1=0123456789abcdef0123456789abcdef01234567")
				return r
			}},
		{name: "wrong signature is 401", status: 401,
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Set(headerSignature256, Sign("other", []byte(payload)))
				return r
			}},
		{name: "malformed signature is 401", status: 401,
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Set(headerSignature256, "sha256=abc")
				return r
			}},
		{name: "signature checked before JSON", status: 401,
			req: func() *http.Request {
				r := webhookRequest("POST", "{not json", "application/json", "issues", "d-1")
				r.Header.Set(headerSignature256, Sign("other", []byte("{not json")))
				return r
			}},
		{name: "invalid JSON is 400", status: 400,
			req: func() *http.Request { return webhookRequest("POST", "{not json", "application/json", "issues", "d-1") }},
		{name: "form without payload is 400", status: 400,
			req: func() *http.Request {
				return webhookRequest("POST", "other=1", "application/x-www-form-urlencoded", "issues", "d-1")
			}},
		{name: "form with invalid JSON is 400", status: 400,
			req: func() *http.Request {
				return webhookRequest("POST", "payload=nope", "application/x-www-form-urlencoded", "issues", "d-1")
			}},
		{name: "known delivery id is 200 duplicate", status: 200, status2: "duplicate",
			prepare: func(f *fixture) { f.dedupe.keys = map[string]bool{DeliveryKey("d-1"): true} },
			req:     func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "known body is 200 duplicate", status: 200, status2: "duplicate",
			prepare: func(f *fixture) {
				f.dedupe.keys = map[string]bool{BodyKey(bodyKeyHex(fixtureFirstSecret, []byte(payload))): true}
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-new") }},
		{name: "known body stored when body dedupe is off", status: 202, stored: true,
			prepare: func(f *fixture) {
				f.dedupe.bodies = false
				f.dedupe.keys = map[string]bool{BodyKey(bodyKeyHex(fixtureFirstSecret, []byte(payload))): true}
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-new") }},
		{name: "index: known delivery id is 200 duplicate", status: 200, status2: "duplicate",
			mutate: func(h *webhookHandler) {
				d := readyDeduper(true)
				d.Remember("d-1", sha256hex(`{"other":1}`))
				h.ingest.dedupe = d
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "index: known body is 200 duplicate", status: 200, status2: "duplicate",
			mutate: func(h *webhookHandler) {
				d := readyDeduper(true)
				d.Remember("d-old", bodyKeyHex(fixtureFirstSecret, []byte(payload)))
				h.ingest.dedupe = d
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-new") }},
		{name: "index: known body stored when body dedupe is off", status: 202, stored: true,
			mutate: func(h *webhookHandler) {
				d := readyDeduper(false)
				d.Remember("d-old", bodyKeyHex(fixtureFirstSecret, []byte(payload)))
				h.ingest.dedupe = d
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-new") }},
		{name: "stream duplicate window is 200 duplicate", status: 200, status2: "duplicate",
			prepare: func(f *fixture) { f.store.seen = map[string]bool{"d-1": true} },
			req:     func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "publish failure is 503", status: 503, status2: "unavailable",
			prepare: func(f *fixture) { f.store.err = errors.New("nats: timeout") },
			req:     func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "dedupe read failure is 503", status: 503,
			prepare: func(f *fixture) { f.dedupe.err = errors.New("nats: no responders") },
			req:     func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "dedupe index still rebuilt is 503 after the publish timeout", status: 503, status2: "unavailable",
			mutate: func(h *webhookHandler) {
				h.ingest.dedupe = NewDeduper(true, time.Hour, zerolog.Nop())
				h.ingest.timeout = 50 * time.Millisecond
			},
			req: func() *http.Request { return webhookRequest("POST", payload, "application/json", "issues", "d-1") }},
		{name: "insecure mode accepts unsigned", status: 202, stored: true, bodyKey: sha256hex(payload),
			mutate: func(h *webhookHandler) { h.insecure = true; h.verifier = NewVerifier(nil) },
			req: func() *http.Request {
				r := webhookRequest("POST", payload, "application/json", "issues", "d-1")
				r.Header.Del(headerSignature256)
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mutate)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, tt.req())
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.status, rec.Body)
			}
			resp := decode(t, rec)
			if tt.status2 != "" && resp.Status != tt.status2 {
				t.Fatalf("status field = %q, want %q", resp.Status, tt.status2)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") != "5" {
				t.Fatalf("503 without Retry-After: %v", rec.Header())
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Fatalf("405 without Allow: POST")
			}
			if tt.status == 200 && resp.Reason == "" {
				t.Fatalf("duplicate without reason: %s", rec.Body)
			}
			if got := len(f.store.published); got != map[bool]int{true: 1, false: 0}[tt.stored] {
				t.Fatalf("published %d deliveries, want stored=%v", got, tt.stored)
			}
			if tt.stored {
				d := f.store.published[0]
				key := tt.bodyKey
				if key == "" {
					key = bodyKeyHex(fixtureFirstSecret, []byte(payload))
				}
				if string(d.Body) != payload || d.ID != "d-1" && d.ID != "d-new" || d.HookID != "123" || d.BodyKey != key || d.SHA256 != "" {
					t.Fatalf("stored %+v", d)
				}
			}
			if strings.Contains(rec.Body.String(), testSecret) {
				t.Fatal("response leaks the secret")
			}
		})
	}
}

func TestDuplicateAfterStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const payload = `{"zen":"Design for failure."}`
	for i, want := range []int{202, 200} {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, webhookRequest("POST", payload, "application/json", "ping", "same-id"))
		if rec.Code != want {
			t.Fatalf("attempt %d: status %d, want %d", i, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, webhookRequest("POST", payload, "application/json", "ping", "replayed-id"))
	if rec.Code != 200 || decode(t, rec).Reason != ReasonBody {
		t.Fatalf("replayed body: %d %s", rec.Code, rec.Body)
	}
	if len(f.store.published) != 1 {
		t.Fatalf("published %d, want 1", len(f.store.published))
	}
	f.traces.mu.Lock()
	defer f.traces.mu.Unlock()
	// The raw message is the record of the stored delivery: no trace record.
	if r, ok := f.traces.recs[trace.Key("same-id", trace.StageGateway)]; ok {
		t.Fatalf("stored delivery has a gateway trace record %+v", r)
	}
	if len(f.traces.recs) != 2 {
		t.Fatalf("trace records %v, want the two duplicates only", f.traces.recs)
	}
	if r := f.traces.recs[trace.Key("same-id", trace.StageGateway, trace.OutcomeDuplicate)]; r.Outcome != trace.OutcomeDuplicate {
		t.Fatalf("duplicate trace record = %+v", r)
	}
	if r := f.traces.recs[trace.Key("replayed-id", trace.StageGateway, trace.OutcomeDuplicate)]; r.Reason != ReasonBody {
		t.Fatalf("replay trace record = %+v", r)
	}
}

// TestRefusalDoesNotReadOversizedBody sends 1 MiB to a gateway capped at
// 4 KiB: a declared Content-Length over the cap is refused before a byte is
// read, and a chunked body is cut off just past the cap.
func TestRefusalDoesNotReadOversizedBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		contentLength int64
		maxRead       int
	}{
		{"declared", 1 << 20, 0},
		{"chunked", -1, 64 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			body := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
			r := httptest.NewRequest("POST", WebhookPath, body)
			r.ContentLength = tt.contentLength
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(headerEvent, "push")
			r.Header.Set(headerDelivery, "big")
			r.Header.Set(headerSignature256, Sign(testSecret, []byte("{}")))
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, r)
			if rec.Code != 413 {
				t.Fatalf("status %d, want 413", rec.Code)
			}
			if body.n > tt.maxRead {
				t.Fatalf("read %d bytes of a 1 MiB body capped at 4 KiB, want at most %d", body.n, tt.maxRead)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type fakeIndex bool

func (f fakeIndex) Ready() bool { return bool(f) }

func TestReadyzWaitsForDedupeIndex(t *testing.T) {
	t.Parallel()
	m := newMetrics(nil)
	h := routes(http.NotFoundHandler(), m, &readiness{index: fakeIndex(false)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "dedupe index") {
		t.Fatalf("readyz while the index is rebuilt: %d %s", rec.Code, rec.Body)
	}
}

// TestMethodNotAllowedNamesRouteMethods checks the Allow header of a 405 on
// each route.
func TestMethodNotAllowedNamesRouteMethods(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for path, want := range map[string]string{WebhookPath: "POST", "/healthz": "GET, HEAD", "/readyz": "GET, HEAD"} {
		method := http.MethodPost
		if path == WebhookPath {
			method = http.MethodDelete
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != want {
			t.Errorf("%s %s: %d, Allow %q; want 405, %q", method, path, rec.Code, rec.Header().Get("Allow"), want)
		}
	}
}

// TestDeclaredLengthNotAllocatedUpFront declares a 20 MiB body under a
// 25 MiB cap and sends ten bytes: the gateway must not allocate what the
// client only announced.
func TestDeclaredLengthNotAllocatedUpFront(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", WebhookPath, io.MultiReader(strings.NewReader("0123456789"), errReader{}))
	r.ContentLength = 20 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	budget := newByteBudget(25 << 20)
	b, err := readBody(httptest.NewRecorder(), r, 25<<20, budget)
	b.release()
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a body cut short was read without error")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("allocated %d bytes for ten received", n)
	}
}

// TestBodyDedupeAcrossSecrets checks that one body is one body whichever
// configured secret signed it: its key derives from the HMAC under the
// first secret, computed whatever secret matched.
func TestBodyDedupeAcrossSecrets(t *testing.T) {
	t.Parallel()
	const body = `{"action":"opened","issue":{"number":7}}`
	for name, secrets := range map[string][2]string{
		"second then first": {testSecret, fixtureFirstSecret},
		"first then second": {fixtureFirstSecret, testSecret},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(h *webhookHandler) { h.ingest.dedupe = readyDeduper(true) })
			for i, secret := range secrets {
				r := webhookRequest("POST", body, "application/json", "issues", fmt.Sprint("d-", i))
				r.Header.Set(headerSignature256, Sign(secret, []byte(body)))
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, r)
				want := []int{http.StatusAccepted, http.StatusOK}[i]
				if resp := decode(t, rec); rec.Code != want || i == 1 && resp.Reason != ReasonBody {
					t.Fatalf("request %d signed with secret %q: %d %+v, want %d", i, secret, rec.Code, resp, want)
				}
			}
			if len(f.store.published) != 1 || f.store.published[0].BodyKey != bodyKeyHex(fixtureFirstSecret, []byte(body)) {
				t.Fatalf("published %+v", f.store.published)
			}
		})
	}
}
