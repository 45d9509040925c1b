package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestShutdownHandsQueuedEventsBack stops the sink while one post is in
// flight and more events wait in the destination's queue: the post in
// flight finishes, the waiting events go straight back to JetStream, and
// a new sink posts them at once rather than after AckWait.
func TestShutdownHandsQueuedEventsBack(t *testing.T) {
	ns := natstest.Start(t)
	var mu sync.Mutex
	var got []string
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var once, released sync.Once
	defer released.Do(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		title := titleRE.FindString(string(body))
		if title == "event-1" {
			once.Do(func() { close(inFlight) })
			<-release
		}
		mu.Lock()
		got = append(got, title)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	posted := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	const n = 6
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("s", i), fmt.Sprintf("s%d", i))
	}
	routesFile := writeRoutes(t, `
destinations:
  one: {webhook: "${SLACK}/one"}
routes:
  - {name: s, match: {repo: acme/s}, to: one}
`)
	cfg := testConfig(routesFile, srv.URL)
	// Long enough that waiting for it would fail the test.
	cfg.AckWait = 5 * time.Minute
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	const depth = `ghnotify_sink_queue_depth{destination="one"}`
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, ns.NC, zerolog.Nop()) }()

	<-inFlight
	natstest.WaitFor(t, 10*time.Second, "the other events queued behind the post in flight", func() bool {
		return gather(t, reg)[depth] == n-1
	})
	cancel()
	// The queued events are handed back while the first post is still in flight.
	natstest.WaitFor(t, 10*time.Second, "the queue emptied by the shutdown", func() bool {
		return gather(t, reg)[depth] == 0
	})
	released.Do(func() { close(release) })
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if p := posted(); len(p) != 1 || p[0] != "event-1" {
		t.Fatalf("the stopping sink posted %v, want only the post in flight", p)
	}

	// Without the hand-back the new sink would see these events only after AckWait.
	cfg.Registerer = prometheus.NewRegistry()
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 20*time.Second, "the restarted sink to post the rest", func() bool { return len(posted()) >= n })
	waitAllAcked(t, ns.JS)
	// Each event once. Order across a restart is not promised: JetStream
	// may queue one handed-back event behind the others when it finds the
	// stopped sink's pull request gone.
	p := posted()
	slices.Sort(p)
	if got, want := strings.Join(p, " "), strings.Join(titles(n), " "); got != want {
		t.Errorf("posted %s, want %s", got, want)
	}
}
