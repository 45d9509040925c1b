package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/rs/zerolog"
)

// TestRefusedWithoutReadingBody sends 1 MiB bodies, declared and chunked,
// with something wrong in their headers: each is refused before a byte of
// the body is read.
func TestRefusedWithoutReadingBody(t *testing.T) {
	t.Parallel()
	good := Sign(testSecret, []byte("{}"))
	for _, tt := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"no GitHub headers", map[string]string{headerEvent: "", headerDelivery: "", headerSignature256: ""}, 400},
		{"no event", map[string]string{headerEvent: ""}, 400},
		{"event with a dot", map[string]string{headerEvent: "issues.opened"}, 400},
		{"no delivery id", map[string]string{headerDelivery: ""}, 400},
		{"no content type", map[string]string{"Content-Type": ""}, 415},
		{"wrong content type", map[string]string{"Content-Type": "text/plain"}, 415},
		{"no signature", map[string]string{headerSignature256: ""}, 401},
		{"SHA-1 signature only", map[string]string{headerSignature256: "", headerSignatureSHA1: "sha1=0123456789012345678901234567890123456789"}, 401},
		{"malformed signature", map[string]string{headerSignature256: "sha256=xyz"}, 401},
		{"short signature", map[string]string{headerSignature256: good[:len(good)-2]}, 401},
	} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", tt.name, chunked), func(t *testing.T) {
				f := newFixture(t, func(h *webhookHandler) { h.maxBody = 2 << 20 })
				body := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
				r := httptest.NewRequest("POST", WebhookPath, body)
				r.ContentLength = 1 << 20
				if chunked {
					r.ContentLength = -1
				}
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set(headerEvent, "issues")
				r.Header.Set(headerDelivery, "d1")
				r.Header.Set(headerSignature256, good)
				for k, v := range tt.headers {
					if v == "" {
						r.Header.Del(k)
					} else {
						r.Header.Set(k, v)
					}
				}
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, r)
				if rec.Code != tt.status {
					t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tt.status)
				}
				if body.n != 0 {
					t.Fatalf("read %d bytes of the body of a request refused for its headers", body.n)
				}
			})
		}
	}
}

// blockedBody is a request body that sends nothing until released, then
// its content.
type blockedBody struct {
	release chan struct{}
	r       io.Reader
}

func (b *blockedBody) Read(p []byte) (int, error) {
	<-b.release
	return b.r.Read(p)
}

// TestInflightBudget holds two large uploads open inside a budget that
// fits two, and checks that a third large upload, declared or chunked, is
// answered 503 with Retry-After, that a small delivery is still accepted
// meanwhile, that the reservation never passed the budget, and that
// everything is given back once the uploads finish.
func TestInflightBudget(t *testing.T) {
	t.Parallel()
	const (
		maxBody = 16 << 10
		budget  = 40 << 10
	)
	var wh *webhookHandler
	f := newFixture(t, func(h *webhookHandler) {
		h.maxBody = maxBody
		h.budget = newByteBudget(budget)
		wh = h
	})
	large := func(i int) []byte {
		return []byte(`{"n":` + strconv.Itoa(i) + `,"pad":"` + strings.Repeat("p", maxBody-40) + `"}`)
	}
	type answer struct {
		code  int
		retry string
	}
	var wg sync.WaitGroup
	answers := make([]answer, 2)
	release := make(chan struct{})
	for i := range 2 {
		body := large(i)
		r := webhookRequest("POST", "", "application/json", "issues", "large-"+strconv.Itoa(i))
		r.Body = io.NopCloser(&blockedBody{release: release, r: bytes.NewReader(body)})
		r.ContentLength = int64(len(body))
		r.Header.Set(headerSignature256, Sign(testSecret, body))
		wg.Go(func() {
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, r)
			answers[i] = answer{rec.Code, rec.Header().Get("Retry-After")}
		})
	}
	held := 2 * int64(1<<10) << smallClass(int64(len(large(0)))) // the buffers of their size class
	natstest.WaitFor(t, 10*time.Second, "two uploads to hold the budget", func() bool { return wh.budget.inUse() == held })

	// A third large upload does not fit, declared or chunked.
	for _, chunked := range []bool{false, true} {
		body := large(2)
		r := webhookRequest("POST", string(body), "application/json", "issues", "large-2")
		if chunked {
			r.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
			t.Fatalf("third large upload (chunked %v): %d, Retry-After %q; want 503 with Retry-After", chunked, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	// A legitimate small delivery still fits.
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, webhookRequest("POST", `{"small":true}`, "application/json", "issues", "small"))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("small delivery while large uploads hold the budget: %d %s", rec.Code, rec.Body)
	}

	close(release)
	wg.Wait()
	for i, a := range answers {
		if a.code != http.StatusAccepted {
			t.Errorf("held upload %d answered %d once sent, want 202", i, a.code)
		}
	}
	if n := wh.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved after every request was answered", n)
	}
	if wh.budget.peak > budget {
		t.Errorf("reservation peaked at %d bytes, over the budget of %d", wh.budget.peak, budget)
	}
	if got := scrapeMetrics(t, f.ops)[`ghnotify_gateway_refusals_total{reason="busy"}`]; got != 2 {
		t.Errorf("busy refusals = %v, want 2", got)
	}
}

// TestChunkedBodyCountedAsRead sends a chunked body larger than the budget
// (but under the body cap): its buffer is reserved as it grows, so it is
// refused once the next buffer does not fit, never reserving more than the
// budget.
func TestChunkedBodyCountedAsRead(t *testing.T) {
	t.Parallel()
	const budget = 200 << 10
	b := newByteBudget(budget)
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	r := httptest.NewRequest("POST", WebhookPath, body)
	r.ContentLength = -1
	rb, err := readBody(httptest.NewRecorder(), r, 4<<20, b)
	if err != errBudgetFull {
		t.Fatalf("readBody = %v, want the budget full", err)
	}
	if b.peak > budget {
		t.Fatalf("reservation peaked at %d, over the budget of %d", b.peak, budget)
	}
	if body.n > budget {
		t.Fatalf("read %d bytes into a budget of %d", body.n, budget)
	}
	rb.release()
	if b.inUse() != 0 {
		t.Fatalf("%d bytes still reserved", b.inUse())
	}

	// Within the budget, the same body is read whole.
	b = newByteBudget(4 << 20)
	r = httptest.NewRequest("POST", WebhookPath, strings.NewReader(strings.Repeat("y", 300<<10)))
	r.ContentLength = -1
	rb, err = readBody(httptest.NewRecorder(), r, 4<<20, b)
	if err != nil || rb.size != 300<<10 || len(rb.chunks) < 2 || rb.reserved < rb.size || b.inUse() != rb.reserved {
		t.Fatalf("readBody = %d bytes in %d chunks, reserved %d, in use %d, %v", rb.size, len(rb.chunks), rb.reserved, b.inUse(), err)
	}
	if got := rb.bytes(); string(got) != strings.Repeat("y", 300<<10) {
		t.Fatalf("assembled %d bytes, not the body", len(got))
	}
	rb.release()
	if b.inUse() != 0 {
		t.Fatalf("%d bytes in use after release", b.inUse())
	}
}

// TestDeclaredBodyReadInChunks reads a declared body larger than a chunk:
// it arrives in pooled chunks, its signature is checked over them, and the
// buffer it becomes is its own: reading the next body, into pooled chunks,
// does not change it.
func TestDeclaredBodyReadInChunks(t *testing.T) {
	t.Parallel()
	b := newByteBudget(1 << 20)
	first := strings.Repeat("a", 3*chunkSize+17)
	r := httptest.NewRequest("POST", WebhookPath, strings.NewReader(first))
	rb, err := readBody(httptest.NewRecorder(), r, 1<<20, b)
	if err != nil || len(rb.chunks) != 4 || rb.size != int64(len(first)) || b.inUse() != int64(len(first)) {
		t.Fatalf("readBody: %d chunks, %d bytes, in use %d, %v", len(rb.chunks), rb.size, b.inUse(), err)
	}
	v := NewVerifier([]config.Secret{testSecret})
	want, _ := ParseSignature(Sign(testSecret, []byte(first)))
	if _, err := v.verifySum(rb.chunks, want); err != nil {
		t.Fatalf("signature over the chunks: %v", err)
	}
	got := rb.bytes()
	rb.release()
	second := strings.Repeat("b", 3*chunkSize)
	rb2, err := readBody(httptest.NewRecorder(), httptest.NewRequest("POST", WebhookPath, strings.NewReader(second)), 1<<20, b)
	if err != nil {
		t.Fatal(err)
	}
	defer rb2.release()
	if string(got) != first {
		t.Fatal("a body changed once its chunks were reused")
	}
}

// lineCounter counts the lines written to it.
type lineCounter struct {
	mu    sync.Mutex
	lines int
	buf   bytes.Buffer
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines += bytes.Count(p, []byte("\n"))
	c.buf.Write(p)
	return len(p), nil
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRefusalFloodLogsSampled sends a flood of badly signed and badly
// formed requests, one a millisecond by the clock: fewer than 1,000 lines
// are written, the summary lines account for every refusal not logged, and
// the counter metric counts them all.
func TestRefusalFloodLogsSampled(t *testing.T) {
	t.Parallel()
	// 5000 refusals 5ms apart: 25s of refusals, over several sampling
	// intervals, without the cost of 20000 requests under -race.
	const n, step = 5000, 5 * time.Millisecond
	logs := &lineCounter{}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(h *webhookHandler) {
		h.log = zerolog.New(logs)
		h.sampler = newRefusalSampler(h.log, clock.Now, refusalLogBurst, refusalLogInterval)
	})
	for i := range n {
		var r *http.Request
		if i%2 == 0 {
			r = webhookRequest("POST", `{"n":1}`, "application/json", "issues", "flood-"+strconv.Itoa(i))
			r.Header.Set(headerSignature256, Sign("wrong", []byte(`{"n":1}`)))
		} else {
			r = webhookRequest("POST", `{"n":1}`, "application/json", "issues.x", "flood-"+strconv.Itoa(i))
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
			t.Fatalf("flood request %d: %d", i, rec.Code)
		}
		clock.Add(step)
	}
	f.wh.sampler.flush(true)
	if logs.lines >= n/20 {
		t.Fatalf("%d refused requests wrote %d log lines, want fewer than %d", n, logs.lines, n/20)
	}
	logged, summarised := 0, 0.0
	for _, line := range strings.Split(strings.TrimSpace(logs.buf.String()), "\n") {
		switch {
		case strings.Contains(line, `"message":"request refused"`):
			logged++
		case strings.Contains(line, `"not_logged":`):
			var v struct {
				NotLogged float64 `json:"not_logged"`
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatal(err)
			}
			summarised += v.NotLogged
		}
	}
	if logged == 0 || logged+int(summarised) != n {
		t.Fatalf("%d refusals logged and %v summarised, want %d in all", logged, summarised, n)
	}
	m := scrapeMetrics(t, f.ops)
	if got := m[`ghnotify_gateway_refusals_total{reason="signature"}`] + m[`ghnotify_gateway_refusals_total{reason="headers"}`]; got != n {
		t.Fatalf("refusals counted %v, want %d", got, n)
	}
}

// countingTraces counts trace writes.
type countingTraces struct{ n atomic.Int64 }

func (c *countingTraces) Record(string, trace.Record) { c.n.Add(1) }

// eventName returns the i-th of many valid event names that GitHub does
// not send.
func eventName(i int) string {
	var b strings.Builder
	b.WriteString("evt_")
	for {
		b.WriteByte(byte('a' + i%26))
		i /= 26
		if i == 0 {
			return b.String()
		}
	}
}

// TestReplayWithInventedEventsBounded replays one signed body 3,000 times
// with different event names and delivery ids (neither is signed): the
// metrics keep a bounded number of series and the duplicate trace writes
// stay under their rate.
func TestReplayWithInventedEventsBounded(t *testing.T) {
	t.Parallel()
	const n = 3000
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	writes := &countingTraces{}
	f := newFixture(t, func(h *webhookHandler) {
		h.ingest.traces = newTraceLimiter(writes, clock.Now, h.metrics.traceSkipped)
	})
	const body = `{"action":"opened","issue":{"number":1}}`
	for i := range n {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, webhookRequest("POST", body, "application/json", eventName(i), "replay-"+strconv.Itoa(i)))
		if rec.Code/100 != 2 {
			t.Fatalf("replay %d: %d %s", i, rec.Code, rec.Body)
		}
		clock.Add(time.Millisecond)
	}
	m := scrapeMetrics(t, f.ops)
	series := 0
	for name := range m {
		if strings.HasPrefix(name, "ghnotify_gateway_requests_total{") {
			series++
			if !strings.Contains(name, `event="other"`) {
				t.Errorf("series %s labelled with an event GitHub does not send", name)
			}
		}
	}
	if series == 0 || series > 2 {
		t.Fatalf("%d series of ghnotify_gateway_requests_total after %d replays with invented events, want at most 2", series, n)
	}
	// n-1 duplicates over n ms: at most the burst plus the rate for 3 s.
	limit := int64(traceBurst + traceRatePerSec*n/1000)
	if w := writes.n.Load(); w == 0 || w > limit {
		t.Fatalf("%d trace writes for %d duplicate replays, want between 1 and %d", w, n-1, limit)
	}
	if skipped := m["ghnotify_gateway_trace_skipped_total"]; int64(skipped)+writes.n.Load() != n-1 {
		t.Fatalf("skipped %v + written %d != %d duplicates", skipped, writes.n.Load(), n-1)
	}

	// The same duplicate replayed is written once within the window.
	writes.n.Store(0)
	clock.Add(time.Hour)
	for range 50 {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, webhookRequest("POST", body, "application/json", "issues", "replay-0"))
		clock.Add(time.Millisecond)
	}
	if w := writes.n.Load(); w != 1 {
		t.Fatalf("one duplicate replayed 50 times wrote %d trace records, want 1", w)
	}
}

// TestEventNameRefusedClearly checks the answer to an event name GitHub
// would never send.
func TestEventNameRefusedClearly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, ev := range []string{"issues.opened", "Issues", "pull-request", "a>", strings.Repeat("a", maxEventName+1)} {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, webhookRequest("POST", `{}`, "application/json", ev, "d1"))
		if rec.Code != http.StatusBadRequest || !strings.Contains(decode(t, rec).Error, headerEvent) {
			t.Errorf("event %q: %d %s, want 400 naming %s", ev, rec.Code, rec.Body, headerEvent)
		}
	}
	if got := eventLabel("pull_request"); got != "pull_request" {
		t.Errorf("eventLabel(pull_request) = %q", got)
	}
	if got := eventLabel("pull_requests"); got != otherEvent {
		t.Errorf("eventLabel(pull_requests) = %q, want %q", got, otherEvent)
	}
}

// TestKnownEventsCoverPayloads checks that the event of every fixture and
// corpus payload is labelled by its name, and accepted by ParseIdentity.
func TestKnownEventsCoverPayloads(t *testing.T) {
	t.Parallel()
	for _, sp := range samplePayloads(t) {
		if sp.event == "future_event" {
			continue // the fixture of an event GitHub does not send (yet)
		}
		if eventLabel(sp.event) != sp.event {
			t.Errorf("event %q of %s is not among the known events", sp.event, sp.name)
		}
		if err := validateEvent(sp.event); err != nil {
			t.Errorf("event %q of %s refused: %v", sp.event, sp.name, err)
		}
	}
}

func TestLogSafe(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"72d3162e-cc78-11e3", "72d3162e-cc78-11e3"},
		{"GitHub-Hookshot/abc", "GitHub-Hookshot/abc"},
		{"a\nb\r\tc", "a?b??c"},
		{"\x1b[31mred", "?[31mred"},
		{"abc\u202edcba", "abc?dcba"},
		{"x\u2066y\u2069z\u200f", "x?y?z?"},
		{"zero\u200bwidth", "zero?width"},
		{"bad\xffutf8", "bad?utf8"},
		{"line\u2028sep", "line?sep"},
		{"é-ü", "é-ü"},
	} {
		if got := logSafe(tt.in); got != tt.want {
			t.Errorf("logSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("é", 100)
	if got := logSafe(long); len(got) > maxHeaderValue || strings.ContainsRune(got, '?') {
		t.Errorf("logSafe of a long value = %q (%d bytes)", got, len(got))
	}
}

// TestRefusalLogNeutralisesHeaders refuses requests whose delivery id,
// event and user agent carry control and bidirectional characters: the
// log line carries none of them.
func TestRefusalLogNeutralisesHeaders(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	f := newFixture(t, func(h *webhookHandler) { h.log = zerolog.New(logs) })
	r := webhookRequest("POST", `{}`, "application/json", "issues\u202e", "id\x1b[2J\u2066")
	r.Header.Set("User-Agent", "curl\r\nforged: line\u202e")
	f.handler.ServeHTTP(httptest.NewRecorder(), r)
	lines := logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1", len(lines))
	}
	for _, k := range []string{"delivery", "event", "user_agent"} {
		v, _ := lines[0][k].(string)
		if v == "" || strings.ContainsAny(v, "\x1b\r\n\u202e\u2066") {
			t.Errorf("logged %s %q", k, v)
		}
	}
}

func TestWeakSecretsWarned(t *testing.T) {
	t.Parallel()
	got := weakSecrets([]config.Secret{"short", config.Secret(strings.Repeat("k", minSecretBytes)), "", "fifteen-bytes!!"})
	if fmt.Sprint(got) != "[0 3]" {
		t.Fatalf("weakSecrets = %v, want [0 3]", got)
	}
	ns := natstest.Start(t)
	logs := &syncBuffer{}
	startGatewayLogged(t, ns.NC, zerolog.New(logs), func(c *Config) { c.Secrets = []config.Secret{"tiny"} })
	if !strings.Contains(logs.String(), "shorter than 16 bytes") || strings.Contains(logs.String(), "tiny") {
		t.Fatalf("no warning about a 4-byte secret, or the secret logged:\n%s", logs)
	}
}

// TestMetricsOnlyOnOpsAddress runs the gateway and checks that /metrics
// is answered on the operations address and not on the webhook port,
// where /healthz and /readyz stay.
func TestMetricsOnlyOnOpsAddress(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	if code := g.get(t, "/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics on the webhook port: %d, want 404", code)
	}
	natstest.WaitFor(t, 30*time.Second, "/readyz on the webhook port", func() bool { return g.get(t, "/readyz") == http.StatusOK })
	if code := g.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz on the webhook port: %d", code)
	}
	res, err := http.Get(g.opsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "ghnotify_gateway_inflight_body_limit_bytes") {
		t.Fatalf("/metrics on the operations address: %d\n%s", res.StatusCode, b)
	}
	for _, p := range []string{"/readyz", "/healthz"} {
		res, err := http.Get(g.opsURL + p)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s on the operations address: %v %v", p, res, err)
		}
		res.Body.Close()
	}
	if res, err := http.Get(g.opsURL + "/debug/pprof/"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("pprof served without GHNOTIFY_PPROF: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

func FuzzLogSafe(f *testing.F) {
	f.Add("72d3162e-cc78-11e3-81ab-4c9367dc0958")
	f.Add("a\x1b[2J\u202e\u2066\xff" + strings.Repeat("é", 40))
	f.Fuzz(func(t *testing.T, s string) {
		got := logSafe(s)
		if len(got) > maxHeaderValue || !utf8.ValidString(got) {
			t.Fatalf("logSafe(%q) = %q", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("logSafe(%q) kept %U", s, r)
			}
		}
	})
}

// TestStoreFailureLogsSampled: while nothing can be stored (a NATS
// election), every delivery is answered 503 but the log gets at most the
// sampler's burst of "storing delivery failed" lines per interval plus a
// summary that counts the others.
func TestStoreFailureLogsSampled(t *testing.T) {
	const n = 500
	logs := &lineCounter{}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(h *webhookHandler) {
		h.log = zerolog.New(logs)
		h.sampler = newRefusalSampler(h.log, clock.Now, refusalLogBurst, refusalLogInterval)
	})
	f.store.err = fmt.Errorf("%w: nats: no response from stream", ErrNotStored)
	for i := range n {
		body := `{"n":` + strconv.Itoa(i) + `}`
		r := webhookRequest("POST", body, "application/json", "issues", "election-"+strconv.Itoa(i))
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("delivery %d during the outage: %d, want 503", i, rec.Code)
		}
		clock.Add(time.Millisecond)
	}
	f.wh.sampler.flush(true)
	logged, summarised := 0, 0.0
	for _, line := range strings.Split(strings.TrimSpace(logs.buf.String()), "\n") {
		switch {
		case strings.Contains(line, `"message":"storing delivery failed; answered 503"`):
			logged++
		case strings.Contains(line, `"not_logged":`):
			var v struct {
				NotLogged float64 `json:"not_logged"`
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatal(err)
			}
			summarised += v.NotLogged
		}
	}
	if logged != refusalLogBurst || logged+int(summarised) != n {
		t.Fatalf("%d failures logged and %v summarised, want %d logged and %d in all", logged, summarised, refusalLogBurst, n)
	}
}

func TestSmallClass(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n    int64
		want int
	}{{0, 0}, {1, 0}, {1 << 10, 0}, {1<<10 + 1, 1}, {7 << 10, 3}, {chunkSize - 1, 6}, {chunkSize, 6}} {
		if got := smallClass(c.n); got != c.want || int64(1<<10)<<got < c.n {
			t.Errorf("smallClass(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
