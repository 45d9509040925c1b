package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeClock is the sink's clock in a test: time moves only when the sink
// sleeps, by exactly what it asked for, so "no request before Retry-After"
// is checked without wall-clock time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// hit is one request the scripted Slack received.
type hit struct {
	at    time.Time
	title string
	code  int
	wait  time.Duration // Retry-After answered with a 429
}

// scriptedSlack answers each request with the next code of its script
// (200 once the script is used up), stamping every request with the clock.
type scriptedSlack struct {
	mu     sync.Mutex
	clock  func() time.Time
	script []int
	wait   time.Duration
	hits   []hit
}

func (f *scriptedSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	code := http.StatusOK
	if n := len(f.hits); n < len(f.script) {
		code = f.script[n]
	}
	h := hit{at: f.clock(), title: titleRE.FindString(string(body)), code: code}
	if code == http.StatusTooManyRequests {
		h.wait = f.wait
		w.Header().Set("Retry-After", strconv.Itoa(int(f.wait/time.Second)))
	}
	f.hits = append(f.hits, h)
	f.mu.Unlock()
	w.WriteHeader(code)
	if code == http.StatusOK {
		_, _ = io.WriteString(w, "ok")
		return
	}
	_, _ = io.WriteString(w, "rate_limited")
}

func (f *scriptedSlack) accepted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, h := range f.hits {
		if h.code == http.StatusOK {
			out = append(out, h.title)
		}
	}
	return out
}

func titles(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("event-%d", i))
	}
	return out
}

func waitAllAcked(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	natstest.WaitFor(t, 20*time.Second, "every event acknowledged", func() bool {
		ci, err := js.Consumer(context.Background(), provision.StreamEvents, provision.ConsumerSlackSink)
		if err != nil {
			return false
		}
		info, err := ci.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

func dlqCount(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestRateLimitStormKeepsOrder sends a destination through a 429 storm
// longer than PostAttempts and 503 bursts shorter than it: every event is
// posted once, in order, nothing is dead-lettered, and after each 429 no
// request reaches the destination before its Retry-After has elapsed.
func TestRateLimitStormKeepsOrder(t *testing.T) {
	ns := natstest.Start(t)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const (
		ok      = http.StatusOK
		limited = http.StatusTooManyRequests
		down    = http.StatusServiceUnavailable
	)
	fake := &scriptedSlack{clock: clock.Now, wait: 7 * time.Second, script: []int{
		ok, limited, limited, limited, limited, limited, limited, limited, limited, ok, // a storm of 8 on event-2
		down, down, ok, // a burst of 503s on event-3
		limited, down, limited, down, ok, // both, on event-4
		ok, limited, limited, limited, limited, limited, limited, limited, limited, limited, limited, limited, limited, ok,
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	const n = 8
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("r", i), fmt.Sprintf("r%d", i))
	}
	cfg := testConfig(writeRoutes(t, `
destinations:
  rl: {webhook: "${SLACK}/rl"}
routes:
  - {name: r, match: {repo: acme/r}, to: rl}
`), srv.URL)
	cfg.PostAttempts, cfg.MaxDeliver = 3, 2
	cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
	stop := startSink(t, cfg, ns.NC)
	defer stop()

	natstest.WaitFor(t, 20*time.Second, "every event posted", func() bool { return len(fake.accepted()) >= n })
	waitAllAcked(t, ns.JS)
	if got, want := strings.Join(fake.accepted(), " "), strings.Join(titles(n), " "); got != want {
		t.Errorf("posted %s\nwant     %s (each once, in order)", got, want)
	}
	fake.mu.Lock()
	hits := append([]hit(nil), fake.hits...)
	fake.mu.Unlock()
	if len(hits) != len(fake.script)+n-6 {
		t.Errorf("%d requests, want %d", len(hits), len(fake.script)+n-6)
	}
	for i := 1; i < len(hits); i++ {
		prev := hits[i-1]
		if prev.code == limited && hits[i].at.Sub(prev.at) < prev.wait {
			t.Errorf("request %d (%s) came %v after a 429 asking for %v", i, hits[i].title, hits[i].at.Sub(prev.at), prev.wait)
		}
	}
	if c := dlqCount(t, ns.JS); c != 0 {
		t.Errorf("%d dead letters; rate limits and short 503 bursts must not dead-letter", c)
	}
}

// TestDownDestinationHandsBackInOrder takes a destination down (503 for
// longer than PostAttempts) while every event also goes to a healthy one,
// with few events in flight: the healthy destination receives everything
// while the other is down, and once it is back the down destination
// receives every event once, in order.
func TestDownDestinationHandsBackInOrder(t *testing.T) {
	ns := natstest.Start(t)
	var mu sync.Mutex
	healthy, recovered := 0, false
	var downGot []string
	downCalls := 0
	const n = 12
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		title := titleRE.FindString(string(body))
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/healthy":
			healthy++
			if healthy >= n {
				recovered = true // the down destination comes back only now
			}
		case "/down":
			downCalls++
			if !recovered {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "rollup_error")
				return
			}
			downGot = append(downGot, title)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("d", i), fmt.Sprintf("d%d", i))
	}
	cfg := testConfig(writeRoutes(t, `
destinations:
  down:    {webhook: "${SLACK}/down"}
  healthy: {webhook: "${SLACK}/healthy"}
routes:
  - {name: d, match: {repo: acme/d}, to: [down, healthy]}
`), srv.URL)
	// Four events in flight: a destination holding its events would stall
	// the healthy one after four.
	cfg.MaxInFlight, cfg.PostAttempts = 4, 2
	logs, stop := startLoggedSink(t, cfg, ns.NC)
	defer stop()
	defer func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("healthy %d, down %v (%d calls)", healthy, downGot, downCalls)
			mu.Unlock()
			t.Log(logs.String())
		}
	}()

	natstest.WaitFor(t, 20*time.Second, "every event at the down destination", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(downGot) >= n
	})
	waitAllAcked(t, ns.JS)
	mu.Lock()
	defer mu.Unlock()
	if healthy != n {
		t.Errorf("healthy destination got %d posts, want %d", healthy, n)
	}
	if got, want := strings.Join(downGot, " "), strings.Join(titles(n), " "); got != want {
		t.Errorf("down destination got %s\nwant                  %s (each once, in order)", got, want)
	}
	if downCalls <= n {
		t.Errorf("down destination called %d times; it never failed", downCalls)
	}
	if c := dlqCount(t, ns.JS); c != 0 {
		t.Errorf("%d dead letters", c)
	}
}
