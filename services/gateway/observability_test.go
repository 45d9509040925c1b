package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/rs/zerolog"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// scrapeMetrics reads /metrics from h into sample (name with labels, as
// written in the text format) -> value.
func scrapeMetrics(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterTraffic sends one request down every path and checks that
// each metric family is exported with the expected labels and counts.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	var wh *webhookHandler
	f := newFixture(t, func(h *webhookHandler) {
		wh = h
		h.allow, _ = NewAllowlist([]string{"192.0.2.0/24"}, nil)
	})
	const payload = `{"action":"opened"}`
	send := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, r)
		return rec.Code
	}
	webhooks := 0
	expect := func(want int, r *http.Request) {
		t.Helper()
		if r.URL.Path == WebhookPath && r.Method == http.MethodPost {
			webhooks++
		}
		if got := send(r); got != want {
			t.Fatalf("%s %s: status %d, want %d", r.Method, r.Header.Get(headerDelivery), got, want)
		}
	}
	expect(202, webhookRequest("POST", payload, "application/json", "issues", "stored-1"))
	rotated := webhookRequest("POST", `{"n":2}`, "application/json", "issues", "stored-2")
	rotated.Header.Set(headerSignature256, Sign("retired", []byte(`{"n":2}`)))
	expect(202, rotated)
	expect(200, webhookRequest("POST", payload, "application/json", "issues", "stored-1"))
	expect(200, webhookRequest("POST", payload, "application/json", "issues", "replayed"))
	expect(405, webhookRequest("GET", payload, "application/json", "issues", "m"))
	outsider := webhookRequest("POST", payload, "application/json", "issues", "far")
	outsider.RemoteAddr = "198.51.100.1:1234"
	expect(403, outsider)
	expect(413, webhookRequest("POST", strings.Repeat(" ", 5000)+payload, "application/json", "issues", "big"))
	broken := webhookRequest("POST", payload, "application/json", "issues", "broken")
	broken.Body, broken.ContentLength = io.NopCloser(errReader{}), -1
	expect(400, broken)
	expect(400, webhookRequest("POST", payload, "application/json", "bad event", "h"))
	expect(415, webhookRequest("POST", payload, "text/plain", "issues", "ct"))
	unsigned := webhookRequest("POST", payload, "application/json", "issues", "sig")
	unsigned.Header.Del(headerSignature256)
	expect(401, unsigned)
	expect(400, webhookRequest("POST", "{", "application/json", "issues", "json"))
	f.store.mu.Lock()
	f.store.err = errors.New("nats: timeout")
	f.store.mu.Unlock()
	expect(503, webhookRequest("POST", `{"n":3}`, "application/json", "pull_request", "down"))

	wh.metrics.observeIndex(func() *Deduper { d := readyDeduper(true); d.Remember("x", "00"); return d }())
	got := scrapeMetrics(t, f.ops)
	want := map[string]float64{
		`ghnotify_gateway_requests_total{event="issues",outcome="stored"}`:            2,
		`ghnotify_gateway_requests_total{event="issues",outcome="duplicate"}`:         2,
		`ghnotify_gateway_requests_total{event="pull_request",outcome="unavailable"}`: 1,
		`ghnotify_gateway_refusals_total{reason="method"}`:                            1,
		`ghnotify_gateway_refusals_total{reason="forbidden"}`:                         1,
		`ghnotify_gateway_refusals_total{reason="too_large"}`:                         1,
		`ghnotify_gateway_refusals_total{reason="read_failed"}`:                       1,
		`ghnotify_gateway_refusals_total{reason="headers"}`:                           1,
		`ghnotify_gateway_refusals_total{reason="content_type"}`:                      1,
		`ghnotify_gateway_refusals_total{reason="signature"}`:                         1,
		`ghnotify_gateway_refusals_total{reason="payload"}`:                           1,
		`ghnotify_gateway_refusals_total{reason="unavailable"}`:                       1,
		`ghnotify_gateway_duplicates_total{kind="delivery_id"}`:                       1,
		`ghnotify_gateway_duplicates_total{kind="body"}`:                              1,
		// The fixture's secrets are "retired" (0) and testSecret (1).
		`ghnotify_gateway_signature_matches_total{secret_index="0"}`: 1,
		`ghnotify_gateway_signature_matches_total{secret_index="1"}`: 5,                 // also the invalid JSON and the 503
		`ghnotify_gateway_request_duration_seconds_count`:            float64(webhooks), // POSTs only: the 405 never reaches the handler
		`ghnotify_gateway_publish_duration_seconds_count`:            3,                 // two stored, one failed
		`ghnotify_gateway_unverified_requests_total`:                 0,
		`ghnotify_gateway_trace_failures_total`:                      0,
		`ghnotify_gateway_dedupe_index_ready`:                        1,
		`ghnotify_gateway_dedupe_index_keys`:                         2,
		`ghnotify_gateway_dedupe_index_sequence`:                     0,
	}
	for name, v := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing from /metrics", name)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", name, g, v)
		}
	}
	for _, family := range []string{"ghnotify_gateway_request_duration_seconds_bucket", "ghnotify_gateway_publish_duration_seconds_bucket", "go_goroutines"} {
		found := false
		for name := range got {
			found = found || strings.HasPrefix(name, family)
		}
		if !found {
			t.Errorf("no %s in /metrics", family)
		}
	}
}

// deliveryLogMessages are the messages of the log lines written about one
// delivery.
var deliveryLogMessages = map[string]bool{
	"request refused":                       true,
	"delivery stored":                       true,
	"duplicate delivery not stored":         true,
	"storing delivery failed; answered 503": true,
	"signature not checked: GHNOTIFY_INSECURE_SKIP_SIGNATURE is set; never run like this in production": true,
}

// TestDeliveryLogLinesCarryIDAndEvent checks that every line the webhook
// handler logs names the delivery and the event, on every path.
func TestDeliveryLogLinesCarryIDAndEvent(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	f := newFixture(t, func(h *webhookHandler) { h.log = zerolog.New(logs).Level(zerolog.DebugLevel) })
	const payload = `{"action":"opened"}`
	reqs := []*http.Request{
		webhookRequest("POST", payload, "application/json", "issues", "id-stored"),
		webhookRequest("POST", payload, "application/json", "issues", "id-stored"),
		webhookRequest("POST", strings.Repeat(" ", 5000)+payload, "application/json", "issues", "id-big"),
		webhookRequest("POST", payload, "application/json", "issues", strings.Repeat("l", 65)),
		webhookRequest("POST", payload, "text/plain", "issues", "id-ct"),
		webhookRequest("POST", "{", "application/json", "issues", "id-json"),
	}
	bad := webhookRequest("POST", payload, "application/json", "issues", "id-sig")
	bad.Header.Set(headerSignature256, Sign("wrong", []byte(payload)))
	reqs = append(reqs, bad)
	for _, r := range reqs {
		f.handler.ServeHTTP(httptest.NewRecorder(), r)
	}
	f.store.mu.Lock()
	f.store.err = errors.New("nats: timeout")
	f.store.mu.Unlock()
	f.handler.ServeHTTP(httptest.NewRecorder(), webhookRequest("POST", `{"n":1}`, "application/json", "ping", "id-down"))

	lines := logs.lines(t)
	if len(lines) != len(reqs)+1 {
		t.Fatalf("%d log lines for %d requests:\n%s", len(lines), len(reqs)+1, logs)
	}
	for _, l := range lines {
		if !deliveryLogMessages[l["message"].(string)] {
			t.Errorf("unexpected log line %v", l)
		}
		id, _ := l["delivery"].(string)
		ev, _ := l["event"].(string)
		if id == "" || ev == "" {
			t.Errorf("log line without delivery and event: %v", l)
		}
		if len(id) > maxHeaderValue {
			t.Errorf("log line with an unshortened delivery id: %v", l)
		}
	}
}

// TestInsecureModeWarnsOnEveryRequest checks that without signature checks
// each request logs a warning and is counted.
func TestInsecureModeWarnsOnEveryRequest(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	f := newFixture(t, func(h *webhookHandler) {
		h.insecure = true
		h.verifier = NewVerifier(nil)
		h.log = zerolog.New(logs)
	})
	const n = 3
	for i := range n {
		r := webhookRequest("POST", `{"n":`+strconv.Itoa(i)+`}`, "application/json", "issues", "unsigned-"+strconv.Itoa(i))
		r.Header.Del(headerSignature256)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("unsigned request %d: %d", i, rec.Code)
		}
	}
	warnings := map[string]bool{}
	for _, l := range logs.lines(t) {
		if l["level"] == "warn" && strings.Contains(l["message"].(string), "GHNOTIFY_INSECURE_SKIP_SIGNATURE") {
			warnings[l["delivery"].(string)] = true
		}
	}
	if len(warnings) != n {
		t.Fatalf("warnings for %d of %d requests:\n%s", len(warnings), n, logs)
	}
	if got := scrapeMetrics(t, f.ops)["ghnotify_gateway_unverified_requests_total"]; got != n {
		t.Fatalf("ghnotify_gateway_unverified_requests_total = %v, want %d", got, n)
	}
}

// TestRunRefusesWithoutSecret checks that a gateway given no secret does not
// start unless the insecure development flag is set.
func TestRunRefusesWithoutSecret(t *testing.T) {
	t.Parallel()
	for _, secrets := range [][]config.Secret{nil, {""}} {
		// No NATS connection is needed: the configuration is refused first.
		err := Run(context.Background(), Config{Secrets: secrets}, nil, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "GITHUB_WEBHOOK_SECRET is not set") {
			t.Fatalf("Run with secrets %q = %v, want it refused", secrets, err)
		}
	}
	if err := (Config{InsecureSkipSignature: true}).Validate(); err != nil {
		t.Fatalf("insecure development mode without a secret refused: %v", err)
	}
}

// TestHTTPServerHardening checks that every timeout and the header cap
// reach the HTTP server, by default and when configured.
func TestHTTPServerHardening(t *testing.T) {
	t.Parallel()
	d := Config{}.withDefaults()
	s := newHTTPServer(d, http.NotFoundHandler(), zerolog.Nop())
	if s.ReadHeaderTimeout != DefaultReadHeaderTimeout || s.ReadTimeout != DefaultReadTimeout || s.WriteTimeout != DefaultWriteTimeout ||
		s.IdleTimeout != DefaultIdleTimeout || s.MaxHeaderBytes != DefaultMaxHeaderBytes || s.ErrorLog == nil {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if d.WriteTimeout <= d.PublishTimeout {
		t.Fatalf("default write timeout %s does not exceed the publish timeout %s", d.WriteTimeout, d.PublishTimeout)
	}
	c := Config{ReadHeaderTimeout: 1 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
		IdleTimeout: 4 * time.Second, MaxHeaderBytes: 5}.withDefaults()
	s = newHTTPServer(c, http.NotFoundHandler(), zerolog.Nop())
	if s.ReadHeaderTimeout != time.Second || s.ReadTimeout != 2*time.Second || s.WriteTimeout != 3*time.Second ||
		s.IdleTimeout != 4*time.Second || s.MaxHeaderBytes != 5 {
		t.Fatalf("configured values not applied: %+v", s)
	}
}

// TestLogsNeverCarrySecretsSignaturesOrBodies runs a gateway with logging at
// debug level through every kind of request, good and hostile, and a NATS
// outage, and checks that no log line holds a secret, a signature header
// value or any part of a body.
func TestLogsNeverCarrySecretsSignaturesOrBodies(t *testing.T) {
	t.Parallel()
	const (
		secret  = "s3cr3t-Gateway-Secret-Value"
		retired = "retired-Secret-Value-0451"
		marker  = "BODY-MARKER-7f3a9c"
	)
	ns := natstest.Start(t)
	logs := &syncBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	g := startGatewayLogged(t, ns.NC, log, func(c *Config) {
		c.Secrets = []config.Secret{retired, secret}
		c.MaxBodyBytes = 4 << 10
		c.PublishTimeout = time.Second
	})

	var signatures []string
	post := func(want int, event, id, contentType, body string, edit func(http.Header)) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, g.url+WebhookPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set(headerEvent, event)
		req.Header.Set(headerDelivery, id)
		req.Header.Set(headerSignature256, Sign(secret, []byte(body)))
		if edit != nil {
			edit(req.Header)
		}
		for _, h := range []string{headerSignature256, headerSignatureSHA1} {
			if v := req.Header.Get(h); v != "" {
				_, hexPart, _ := strings.Cut(v, "=")
				signatures = append(signatures, v, hexPart)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("posting %s: %v", id, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s: status %d, want %d", id, res.StatusCode, want)
		}
	}
	body := `{"action":"opened","note":"` + marker + `"}`
	form := "payload=" + url.QueryEscape(`{"action":"closed","note":"`+marker+`"}`)
	post(202, "issues", "good", "application/json", body, nil)
	post(200, "issues", "good", "application/json", body, nil)
	post(200, "issues", "replayed", "application/json", body, nil)
	post(202, "issues", "rotated", "application/json", `{"n":"`+marker+`"}`, func(h http.Header) {
		h.Set(headerSignature256, Sign(retired, []byte(`{"n":"`+marker+`"}`)))
	})
	post(202, "issues", "form", "application/x-www-form-urlencoded", form, nil)
	post(401, "issues", "wrong-sig", "application/json", body+" ", func(h http.Header) {
		h.Set(headerSignature256, Sign("an-attacker-guess", []byte(body+" ")))
	})
	post(401, "issues", "malformed-sig", "application/json", body, func(h http.Header) {
		h.Set(headerSignature256, "sha256=c0ffee"+marker)
	})
	post(401, "issues", "sha1-only", "application/json", body, func(h http.Header) {
		h.Del(headerSignature256)
		h.Set(headerSignatureSHA1, "sha1=0123456789abcdef0123456789abcdef01234567")
	})
	post(400, "issues", "bad-json", "application/json", `{"`+marker, nil)
	post(400, "issues", "form-no-payload", "application/x-www-form-urlencoded", "other="+marker, nil)
	post(400, "issues", "form-bad-json", "application/x-www-form-urlencoded", "payload="+marker, nil)
	post(413, "issues", "big", "application/json", `{"pad":"`+strings.Repeat(marker, 400)+`"}`, nil)
	post(415, "issues", "text", "text/plain", body, nil)
	post(400, "issues", "bad id", "application/json", body, nil)

	ns.Stop()
	natstest.WaitFor(t, 10*time.Second, "the client to notice the outage", func() bool { return !ns.NC.IsConnected() })
	post(503, "issues", "outage", "application/json", `{"during":"`+marker+`"}`, nil)
	ns.Restart(t)
	if err := g.stop(); err != nil {
		t.Fatalf("stopping gateway: %v", err)
	}

	out := logs.String()
	for _, want := range []string{"gateway listening", "delivery stored", "request refused", "storing delivery failed"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log has no %q line; the test would prove nothing:\n%s", want, out)
		}
	}
	leaks := append([]string{secret, retired, marker, "an-attacker-guess"}, signatures...)
	for _, leak := range leaks {
		if leak != "" && strings.Contains(out, leak) {
			t.Errorf("log contains %q", leak)
		}
	}
}
