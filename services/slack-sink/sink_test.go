package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// fakeSlack is an httptest Slack: each path answers from its script (the
// last answer repeats) and records the title of every accepted post.
type fakeSlack struct {
	mu       sync.Mutex
	scripts  map[string][]int
	calls    map[string]int
	accepted map[string][]string
}

var titleRE = regexp.MustCompile(`event-\d+`)

// stuckRetryAfter is the Retry-After of the stuck channel; the delivery
// test holds every wait of that length until it lets go.
const stuckRetryAfter = 30 * time.Second

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct{ Text string }
	_ = json.Unmarshal(body, &m)
	f.mu.Lock()
	script := f.scripts[r.URL.Path]
	n := f.calls[r.URL.Path]
	f.calls[r.URL.Path]++
	code := http.StatusOK
	if len(script) > 0 {
		code = script[min(n, len(script)-1)]
	}
	if code == http.StatusOK {
		f.accepted[r.URL.Path] = append(f.accepted[r.URL.Path], titleRE.FindString(m.Text))
	}
	f.mu.Unlock()
	switch code {
	case http.StatusOK:
		_, _ = io.WriteString(w, "ok")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		if strings.HasPrefix(r.URL.Path, "/stuck") {
			w.Header().Set("Retry-After", strconv.Itoa(int(stuckRetryAfter/time.Second)))
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "rate_limited")
	case http.StatusGone:
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "channel_is_archived")
	default:
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "rollup_error")
	}
}

func (f *fakeSlack) got(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.accepted[path]...)
}

func (f *fakeSlack) callCount(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func newFakeSlack(t *testing.T, scripts map[string][]int) (*fakeSlack, string) {
	f := &fakeSlack{scripts: scripts, calls: map[string]int{}, accepted: map[string][]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func testEvent(repo string, i int) *event.Event {
	kind := "issues.opened"
	e := &event.Event{SpecVersion: event.SpecVersion, ID: event.ID(fmt.Sprintf("%s-%d", repo, i), kind), Source: "https://github.com/acme/" + repo,
		Type: event.Type(kind), Time: time.Unix(0, 0).UTC(), DataContentType: event.ContentType, Data: event.Data{
			Kind: kind, Event: "issues", Action: "opened", DeliveryID: fmt.Sprintf("%s-%d", repo, i),
			Repository: &event.Repository{Owner: "acme", Name: repo, FullName: "acme/" + repo},
			Actor:      event.Actor{Login: "octocat"},
			Target:     &event.Target{Type: "issue", Number: i, Title: fmt.Sprintf("event-%d", i)},
		}}
	return e
}

func publish(t *testing.T, js jetstream.JetStream, e *event.Event, msgID string) {
	t.Helper()
	b, err := event.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(subject.Event(e.Data.Repository.Owner, e.Data.Repository.Name, "issues", "opened"))
	m.Data = b
	if _, err := js.PublishMsg(context.Background(), m, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

func writeRoutes(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testConfig(routesFile, slackURL string) Config {
	return Config{
		RoutesFile: routesFile, Provision: provision.Defaults(), RatePerMinute: 60000, Burst: 50,
		MaxInFlight: 64, PostAttempts: 20, MaxDeliver: 1000, AckWait: 5 * time.Second, ShutdownTimeout: 10 * time.Second,
		Registerer: prometheus.NewRegistry(),
		Lookup:     func(name string) (string, bool) { return slackURL, name == "SLACK" },
		// Waits are shortened: Retry-After and backoff are honoured in kind, not in length.
		Sleep:   func(ctx context.Context, d time.Duration) error { return sleep(ctx, min(d, 2*time.Millisecond)) },
		Backoff: func(int) time.Duration { return 5 * time.Millisecond },
	}
}

func startSink(t *testing.T, cfg Config, nc *nats.Conn) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, nc, zerolog.Nop()) }()
	return func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

const deliveryRoutes = `
destinations:
  flaky: {webhook: "${SLACK}/flaky"}
  gone:  {webhook: "${SLACK}/gone"}
  ok:    {webhook: "${SLACK}/ok"}
  stuck: {webhook: "${SLACK}/stuck"}
routes:
  - {name: a-flaky, match: {repo: acme/a}, to: flaky, continue: true}
  - {name: a-gone, match: {repo: acme/a}, to: gone}
  - {name: b, match: {repo: acme/b}, to: ok}
  - {name: c, match: {repo: acme/c}, to: stuck}
`

func TestDeliveryUnderSlackFailures(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, map[string][]int{
		"/flaky": {503, 503, 429, 200, 503, 200},
		"/gone":  {410},
		"/stuck": {429},
	})
	const n = 8
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("c", i), fmt.Sprintf("c%d", i))
	}
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("a", i), fmt.Sprintf("a%d", i))
		publish(t, ns.JS, testEvent("b", i), fmt.Sprintf("b%d", i))
	}
	cfg := testConfig(writeRoutes(t, deliveryRoutes), url)
	// The stuck channel stays stuck until the end of the test: its
	// Retry-After waits block, so a queue it shared with another
	// destination would hold that one back for good.
	held := make(chan struct{})
	cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		if d > stuckRetryAfter/2 {
			select {
			case <-held:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return sleep(ctx, min(d, 2*time.Millisecond))
	}
	stop := startSink(t, cfg, ns.NC)
	var release sync.Once
	defer func() {
		release.Do(func() { close(held) })
		stop()
	}()

	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("event-%d", i))
	}
	natstest.WaitFor(t, 20*time.Second, "all posts to ok and flaky", func() bool {
		return len(fake.got("/ok")) >= n && len(fake.got("/flaky")) >= n
	})
	// The stuck channel was published first and answered only 429, yet the
	// healthy channel received everything.
	if got := fake.got("/stuck"); len(got) != 0 || fake.callCount("/stuck") == 0 {
		t.Errorf("stuck channel: accepted %v after %d calls", got, fake.callCount("/stuck"))
	}
	release.Do(func() { close(held) })
	for _, path := range []string{"/ok", "/flaky"} {
		if got := fake.got(path); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s received %v, want each event once, in order: %v", path, got, want)
		}
	}
	// Every post to the archived channel is dead-lettered with its destination.
	natstest.WaitFor(t, 10*time.Second, "dead letters for gone", func() bool {
		info, err := ns.JS.Stream(context.Background(), provision.StreamDLQ)
		return err == nil && info.CachedInfo().State.Msgs >= n
	})
	if dl := deadLetter(t, ns.JS, 1); dl.Header.Get(HeaderDestination) != "gone" || !strings.Contains(dl.Header.Get("Ghnotify-Dlq-Reason"), "channel_is_archived") {
		t.Errorf("dead letter headers: %v", dl.Header)
	}
	if c := fake.callCount("/gone"); c != n {
		t.Errorf("archived channel called %d times, want %d (no retries of permanent failures)", c, n)
	}
	// Trace records name the outcome.
	recs, err := trace.NewStore(ns.JS).List(context.Background(), "a-1")
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range recs {
		outcomes[r.Destination] = r.Outcome
	}
	if outcomes["flaky"] != trace.OutcomePosted || outcomes["gone"] != trace.OutcomeDeadLettered {
		t.Errorf("trace of a-1: %+v", recs)
	}
}

func TestRestartMidBatchPostsNothingTwice(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	const n = 30
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("b", i), fmt.Sprintf("b%d", i))
	}
	routesFile := writeRoutes(t, deliveryRoutes)
	cfg := testConfig(routesFile, url)
	cfg.RatePerMinute, cfg.Burst, cfg.MaxInFlight = 600, 1, 2 // slow and narrow enough to stop mid-batch
	stop := startSink(t, cfg, ns.NC)
	natstest.WaitFor(t, 20*time.Second, "a few posts", func() bool { return len(fake.got("/ok")) >= 3 })
	stop()
	first := len(fake.got("/ok"))
	if first >= n {
		t.Skipf("the first sink finished the batch (%d posts) before it was stopped", first)
	}
	// Forget what the first sink acknowledged: the second one gets the
	// whole batch again, as after a crash between the posts and their
	// acks, and only the sent bucket stands between it and duplicates.
	if err := ns.JS.DeleteConsumer(context.Background(), provision.StreamEvents, provision.ConsumerSlackSink); err != nil {
		t.Fatal(err)
	}
	cfg.RatePerMinute, cfg.Burst = 60000, 50
	cfg.Registerer = prometheus.NewRegistry()
	stop = startSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 20*time.Second, "the whole batch", func() bool { return len(fake.got("/ok")) >= n })
	// Republishing the same events under new message ids (as a replay
	// would) posts nothing either.
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("b", i), fmt.Sprintf("replay-b%d", i))
	}
	publish(t, ns.JS, testEvent("b", n+1), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker event", func() bool { return len(fake.got("/ok")) >= n+1 })
	seen := map[string]int{}
	for _, id := range fake.got("/ok") {
		seen[id]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s posted %d times", id, c)
		}
	}
	if len(seen) != n+1 {
		t.Errorf("%d distinct events posted, want %d", len(seen), n+1)
	}
}
