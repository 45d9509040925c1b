package sink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// The receiver below is shown verbatim in docs/routing.md (checked by
// TestRoutingDocShowsTheTestedReceiver).

// docs:receiver begin

// verifySignature reports whether sig, the X-Ghnotify-Signature-256
// header, is the HMAC SHA-256 of the raw request body under secret.
func verifySignature(secret, body []byte, sig string) bool {
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// receiver accepts the events signed with secret and passes each one's
// id (the same in every redelivery) and CloudEvent JSON to handle.
func receiver(secret []byte, handle func(id string, cloudEvent []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil || !verifySignature(secret, body, r.Header.Get("X-Ghnotify-Signature-256")) {
			http.Error(w, "bad signature", http.StatusUnauthorized) // 4xx: dead-lettered, not retried
			return
		}
		handle(r.Header.Get("X-Ghnotify-Event-Id"), body)
		w.WriteHeader(http.StatusNoContent)
	})
}

// docs:receiver end

// TestRoutingDocShowsTheTestedReceiver checks that the receiver in
// docs/routing.md is the one this file tests.
func TestRoutingDocShowsTheTestedReceiver(t *testing.T) {
	src, err := os.ReadFile("http_test.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)// docs:receiver begin\n\n(.*?)\n// docs:receiver end`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no receiver between the docs markers")
	}
	doc, err := os.ReadFile(filepath.Join(corpus.RepoRoot(t), "docs", "routing.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(m[1])+"```\n") {
		t.Errorf("docs/routing.md does not show the receiver of http_test.go verbatim; it should hold:\n```go\n%s```", m[1])
	}
}

// signedReceiver is a receiver whose answers follow a script per event
// title (the last answer repeats, 204 once it is used up); it counts the
// posts each event received with a valid signature and every post
// without one.
type signedReceiver struct {
	mu      sync.Mutex
	scripts map[string][]int
	tries   map[string]int
	ok      map[string]int
	order   []string
	bad     int
	headers http.Header
	// clock stamps every try in at, by title.
	clock func() time.Time
	at    map[string][]time.Time
}

func newSignedReceiver(t *testing.T, secret string, clock func() time.Time, scripts map[string][]int) (*signedReceiver, string) {
	rc := &signedReceiver{scripts: scripts, tries: map[string]int{}, ok: map[string]int{}, clock: clock, at: map[string][]time.Time{}}
	verified := receiver([]byte(secret), func(id string, body []byte) {
		ev, err := event.Unmarshal(body)
		if err != nil || ev.ID != id {
			t.Errorf("body %q is not the CloudEvent %s: %v", body, id, err)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.ok[ev.Data.Target.Title]++
		rc.order = append(rc.order, ev.Data.Target.Title)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		title := titleRE.FindString(string(body))
		rc.mu.Lock()
		rc.headers = r.Header.Clone()
		script := rc.scripts[title]
		n := rc.tries[title]
		rc.tries[title]++
		rc.at[title] = append(rc.at[title], rc.clock())
		rc.mu.Unlock()
		if n < len(script) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(script[n])
			_, _ = io.WriteString(w, "not now")
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		verified.ServeHTTP(rec, r)
		if rec.Code == http.StatusUnauthorized {
			rc.mu.Lock()
			rc.bad++
			rc.mu.Unlock()
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func (rc *signedReceiver) posts() (map[string]int, []string, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ok := map[string]int{}
	for k, v := range rc.ok {
		ok[k] = v
	}
	return ok, append([]string(nil), rc.order...), rc.bad
}

// TestHTTPDestinationDeliversEachEventOnce posts events to a signed HTTP
// destination through 429s, 503s with and without Retry-After, 500s and
// a permanent 422: every other event arrives exactly once, in order, with
// a valid signature; the 422 is dead-lettered for that destination after
// one try; and neither a redelivery of every event (the consumer
// forgotten, as after a crash) nor a replay under new message ids posts
// anything again.
func TestHTTPDestinationDeliversEachEventOnce(t *testing.T) {
	ns := natstest.Start(t)
	const secret = "receiver-secret-value"
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rc, url := newSignedReceiver(t, secret, clock.Now, map[string][]int{
		"event-2": {503, 503},           // with Retry-After: a pause, not a failed try
		"event-3": {429, 429, 429, 429}, // more than PostAttempts, never dead-lettered
		"event-4": {500, 502},
		"event-5": {408},
		"event-6": {422},
	})
	const n = 8
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("h", i), fmt.Sprintf("h%d", i))
	}
	cfg := testConfig(writeRoutes(t, `
destinations:
  hook:
    http: ${HOOK_URL}/ghnotify
    secret: ${HOOK_SECRET}
routes:
  - {name: h, match: {repo: acme/h}, to: hook}
`), "")
	cfg.PostAttempts = 3
	cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
	cfg.Lookup = func(name string) (string, bool) {
		switch name {
		case "HOOK_URL":
			return url, true
		case "HOOK_SECRET":
			return secret, true
		}
		return "", false
	}
	logs, stop := startLoggedSink(t, cfg, ns.NC)
	var want []string
	for i := 1; i <= n; i++ {
		if i != 6 {
			want = append(want, fmt.Sprintf("event-%d", i))
		}
	}
	natstest.WaitFor(t, 20*time.Second, "every event but event-6 at the receiver", func() bool {
		_, order, _ := rc.posts()
		return len(order) >= len(want)
	})
	waitAllAcked(t, ns.JS)
	stop()
	_, order, bad := rc.posts()
	if got := strings.Join(order, " "); got != strings.Join(want, " ") {
		t.Errorf("received %s\nwant     %s (each once, in order)", got, strings.Join(want, " "))
	}
	if bad != 0 {
		t.Errorf("%d posts with a bad signature", bad)
	}
	rc.mu.Lock()
	h := rc.headers
	tries6 := rc.tries["event-6"]
	rc.mu.Unlock()
	if h.Get("Content-Type") != "application/cloudevents+json" || h.Get("X-Ghnotify-Delivery") == "" {
		t.Errorf("headers %v", h)
	}
	// Retry-After: 1 (429, and 503 with it) held every next try back for
	// at least a second of the sink's clock.
	for _, title := range []string{"event-2", "event-3"} {
		rc.mu.Lock()
		at := rc.at[title]
		rc.mu.Unlock()
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d < time.Second {
				t.Errorf("%s: try %d came %v after a Retry-After of 1 s", title, i+1, d)
			}
		}
	}
	if tries6 != 1 {
		t.Errorf("the 422 was tried %d times, want 1", tries6)
	}
	if c := dlqCount(t, ns.JS); c != 1 {
		t.Errorf("%d dead letters, want 1 (event-6)", c)
	}
	if dl := deadLetter(t, ns.JS, 1); dl.Header.Get(HeaderDestination) != "hook" || !strings.Contains(dl.Header.Get("Ghnotify-Dlq-Reason"), "HTTP 422") {
		t.Errorf("dead letter headers %v", dl.Header)
	}
	recs, err := trace.NewStore(ns.JS).List(context.Background(), "h-1")
	if err != nil || len(recs) != 1 || recs[0].Outcome != trace.OutcomePosted || recs[0].Destination != "hook" {
		t.Errorf("trace of h-1: %+v, %v", recs, err)
	}

	// Every event again: the consumer forgotten, then a replay.
	if err := ns.JS.DeleteConsumer(context.Background(), provision.StreamEvents, provision.ConsumerSlackSink); err != nil {
		t.Fatal(err)
	}
	cfg.Registerer = prometheus.NewRegistry()
	logs2, stop := startLoggedSink(t, cfg, ns.NC)
	defer stop()
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("h", i), fmt.Sprintf("replay-h%d", i))
	}
	publish(t, ns.JS, testEvent("h", n+1), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker event", func() bool {
		ok, _, _ := rc.posts()
		return ok[fmt.Sprintf("event-%d", n+1)] == 1
	})
	waitAllAcked(t, ns.JS)
	ok, _, _ := rc.posts()
	for i := 1; i <= n+1; i++ {
		title := fmt.Sprintf("event-%d", i)
		// Every event is posted once in all: the ones posted before are not
		// posted again, and event-6, dead-lettered before, is tried again
		// when published again (as a redrive does) and accepted this time.
		if ok[title] != 1 {
			t.Errorf("%s received %d times, want 1", title, ok[title])
		}
	}
	if c := dlqCount(t, ns.JS); c != 1 {
		t.Errorf("%d dead letters after the redelivery, want still 1", c)
	}
	all := logs.String() + logs2.String()
	for _, s := range []string{secret, url} {
		if strings.Contains(all, s) {
			t.Errorf("the log shows %q:\n%s", s, all)
		}
	}
}

// deadLetter returns the dead letter at seq.
func deadLetter(t *testing.T, js jetstream.JetStream, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	dlq, err := js.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := dlq.GetMsg(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	return dl
}
