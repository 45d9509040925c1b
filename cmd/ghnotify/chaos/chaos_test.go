//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/cmd/ghnotify/chaos/slackstandin"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// numDeliveries are sent at sendRate per second.
	numDeliveries = 2000
	sendRate      = 25
	// inFlight bounds concurrent requests to the gateway.
	inFlight = 16
	// killWindow: a second post of an event counts as the documented
	// kill -9 window when its first post came at most this long before a
	// sink was killed.
	killWindow = time.Second
	// sendBudget bounds the sending (80 s at sendRate when all is well).
	sendBudget = 3 * time.Minute
	// resendFor bounds the redelivery of refused deliveries at the end.
	resendFor = 90 * time.Second
	// settleFor bounds the wait for every accepted delivery's fate; the
	// sink's AckWait (1 min) after its last kill -9 fits in it.
	settleFor = 180 * time.Second
	// stopGrace is how long a service may take to exit on SIGTERM.
	stopGrace = 30 * time.Second
	// tmpfsSize is the size of NATS's store when it sits on a tmpfs.
	tmpfsSize = "256m"

	webhookSecret = "chaos-suite-webhook-secret"
	natsUser      = "chaos"
	natsPassword  = "chaos-suite-nats-password"
)

// routesFile sends every kind to the stand-in, so every event is posted.
const routesFile = `destinations:
  standin:
    webhook: ${SLACK_WEBHOOK_URL}
    rate: 500
    burst: 50
routes:
  - name: everything
    match:
      kind: "*"
    to: standin
`

// suite is one chaos run.
type suite struct {
	t          *testing.T
	deliveries []*sentDelivery
	slack      *slackstandin.Server
	gatewayURL string
	storeRoot  string
	tmpfs      bool

	nats, gateway, norm1, norm2, sink1, sink2 *service

	mu         sync.Mutex
	sinkKills  []time.Time
	unexpected []string
	unclean    []string
	filler     string
	// stopProbe ends the readiness probe of the full-disk episode.
	stopProbe        func()
	unreadyWhileFull bool
}

func TestChaos(t *testing.T) {
	root := corpus.RepoRoot(t)
	binDir := filepath.Join(root, "bin")
	for _, b := range []string{"nats-server", "gateway", "normalizer", "slack-sink"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Fatalf("%s is missing: run `make build` first (`make test-chaos` does)", filepath.Join(binDir, b))
		}
	}
	tpls, excluded := loadTemplates(t)
	t.Logf("corpus: %d payloads used", len(tpls))
	if len(excluded) > 0 {
		t.Logf("corpus: %d payloads left out because their message cannot be traced: %s", len(excluded), strings.Join(excluded, ", "))
	}

	s := &suite{t: t, deliveries: buildDeliveries(t, tpls, numDeliveries, webhookSecret)}
	logDir, err := os.MkdirTemp("", "ghnotify-chaos-logs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the services' logs are kept in %s", logDir)
			return
		}
		os.RemoveAll(logDir)
	})
	s.storeRoot = t.TempDir()
	s.tmpfs = mountTmpfs(t, s.storeRoot)

	s.slack = slackstandin.Start()
	t.Cleanup(s.slack.Close)
	routesPath := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routesPath, []byte(routesFile), 0o600); err != nil {
		t.Fatal(err)
	}

	natsPort, httpPort := freePort(t), freePort(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
	s.gatewayURL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	// Two instances of a service run side by side: the operations address
	// (a fixed loopback port by default) is off, since nothing here reads it.
	common := []string{"NATS_URL=" + natsURL, "NATS_USER=" + natsUser, "NATS_PASSWORD=" + natsPassword, "GHNOTIFY_LOG_FORMAT=json", "GHNOTIFY_OPS_ADDR=off"}
	svc := func(name, bin string, env []string, args ...string) *service {
		return &service{name: name, bin: filepath.Join(binDir, bin), args: args, env: childEnv(append(slices.Clone(common), env...)...), logDir: logDir}
	}
	s.nats = svc("nats-server", "nats-server", nil, "-a", "127.0.0.1", "-p", strconv.Itoa(natsPort), "-n", "chaos",
		"--jetstream", "--store_dir", filepath.Join(s.storeRoot, "jetstream"), "--user", natsUser, "--pass", natsPassword)
	s.gateway = svc("gateway", "gateway", []string{
		"GITHUB_WEBHOOK_SECRET=" + webhookSecret, fmt.Sprintf("GHNOTIFY_HTTP_ADDR=127.0.0.1:%d", httpPort),
		"GHNOTIFY_PUBLISH_TIMEOUT=2s", "GHNOTIFY_RETRY_AFTER=1s", "GHNOTIFY_SHUTDOWN_TIMEOUT=2s",
	})
	// Short AckWaits and few deliveries keep the run short and drive
	// messages to their last delivery, where they must be dead-lettered.
	normEnv := []string{"GHNOTIFY_NORMALIZER_ACK_WAIT=2s", "GHNOTIFY_NORMALIZER_PUBLISH_TIMEOUT=2s", "GHNOTIFY_NORMALIZER_MAX_DELIVER=4"}
	s.norm1 = svc("normalizer-1", "normalizer", normEnv)
	s.norm2 = svc("normalizer-2", "normalizer", normEnv)
	sinkEnv := []string{"SLACK_WEBHOOK_URL=" + s.slack.URL(), "GHNOTIFY_ROUTES=" + routesPath, "GHNOTIFY_ROUTES_WATCH=false", "SLACK_HTTP_TIMEOUT=5s", "GHNOTIFY_SINK_SHUTDOWN_TIMEOUT=5s",
		"GHNOTIFY_SINK_POST_ATTEMPTS=2", "GHNOTIFY_SINK_MAX_DELIVER=3", "GHNOTIFY_SINK_MAX_IN_FLIGHT=4"}
	s.sink1 = svc("slack-sink-1", "slack-sink", sinkEnv)
	s.sink2 = svc("slack-sink-2", "slack-sink", sinkEnv)
	all := []*service{s.gateway, s.sink1, s.sink2, s.norm1, s.norm2, s.nats}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range all {
				t.Log(p.logTail(15))
			}
		}
	})
	t.Cleanup(func() {
		for _, p := range all {
			p.kill(t)
		}
	})

	s.nats.start(t)
	nc, err := nats.Connect(natsURL, nats.UserInfo(natsUser, natsPassword), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("connecting to nats-server: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s.norm1.start(t)
	s.sink1.start(t)
	s.gateway.start(t)
	if !waitUntil(60*time.Second, 100*time.Millisecond, s.gatewayReady) {
		t.Fatal("the gateway was not ready within 60s of starting")
	}

	begin := time.Now()
	s.sendAll()
	sent := time.Since(begin)
	s.resendRefused()
	resent := time.Since(begin)
	f := s.waitSettled(js, settleFor)
	t.Logf("timing: sending %s, re-sending done at %s, wait for fates ended at %s", sent.Round(time.Second), resent.Round(time.Second), time.Since(begin).Round(time.Second))
	s.report(f)
}

// step is one fault, injected just before delivery at is sent.
type step struct {
	at   int
	name string
	do   func()
}

// schedule is what happens to the system while the deliveries go out.
func (s *suite) schedule() []step {
	t := s.t
	killRestart := func(p *service) func() {
		return func() {
			if p == s.sink1 || p == s.sink2 {
				s.noteSinkKill()
			}
			p.kill(t)
			p.start(t)
		}
	}
	// stopRestart stops a service with SIGTERM, as an orchestrator does;
	// it must hand back what it holds and exit within stopGrace.
	stopRestart := func(p *service) func() {
		return func() {
			if !p.stop(t, stopGrace) {
				s.mu.Lock()
				s.unclean = append(s.unclean, p.name)
				s.mu.Unlock()
				t.Logf("%s did not exit within %s of SIGTERM; killed it", p.name, stopGrace)
			}
			p.start(t)
		}
	}
	steps := []step{
		{120, "kill -9 gateway, restart", killRestart(s.gateway)},
		{220, "kill -9 normalizer-1, restart", killRestart(s.norm1)},
		{320, "kill -9 slack-sink-1, restart", killRestart(s.sink1)},
		{380, "Slack answers 429 (Retry-After 1) to the next 6 requests", func() { s.slack.RateLimit(6, time.Second) }},
		{450, "start normalizer-2 and slack-sink-2", func() { s.norm2.start(t); s.sink2.start(t) }},
		{560, "kill -9 slack-sink-2, restart", killRestart(s.sink2)},
		// Slack's 503s come in spells of time, not in counts of requests
		// (a sink that backs off would stretch a count over minutes).
		{620, "Slack answers 503 to everything for about a second", func() { s.slack.SetDown(true) }},
		{645, "Slack answers 200 again", func() { s.slack.SetDown(false) }},
		{700, "kill -9 normalizer-1, restart", killRestart(s.norm1)},
		{780, "kill -9 gateway, restart", killRestart(s.gateway)},
		{860, "kill -9 normalizer-2, restart", killRestart(s.norm2)},
		{940, "kill -9 slack-sink-2 and normalizer-2 (back to one instance each)", func() { s.noteSinkKill(); s.sink2.kill(t); s.norm2.kill(t) }},
		{1040, "Slack answers 503 to everything for about three seconds", func() { s.slack.SetDown(true) }},
		{1110, "Slack answers 200 again", func() { s.slack.SetDown(false) }},
		{1060, "kill -9 slack-sink-1, restart", killRestart(s.sink1)},
		{1140, "Slack answers 429 (Retry-After 1) to the next 10 requests", func() { s.slack.RateLimit(10, time.Second) }},
		{1150, "stop slack-sink-1 with SIGTERM, restart", stopRestart(s.sink1)},
		{1170, "stop normalizer-1 with SIGTERM, restart", stopRestart(s.norm1)},
		// A JetStream stream that hit a write error refuses writes until
		// its server restarts, so the full disk ends with freeing the space
		// and restarting nats-server, as an operator would.
		{1400, "kill -9 nats-server, restart", killRestart(s.nats)},
		// The normalizer freezes (SIGSTOP) just before the disk fills and
		// wakes up (SIGCONT) to a backlog it cannot publish while the disk
		// is full, so raw deliveries reach their last delivery then.
		{1200, "freeze normalizer-1 (SIGSTOP)", func() { s.norm1.signal(t, syscall.SIGSTOP) }},
		{1270, "thaw normalizer-1 (SIGCONT)", func() { s.norm1.signal(t, syscall.SIGCONT) }},
		// A Slack outage long enough for events to reach their last
		// delivery, with the sink killed twice in the middle of it.
		{1450, "Slack answers 503 to everything (outage begins)", func() { s.slack.SetDown(true) }},
		{1500, "kill -9 normalizer-1, restart", killRestart(s.norm1)},
		{1560, "kill -9 gateway, restart", killRestart(s.gateway)},
		{1600, "kill -9 slack-sink-1, restart", killRestart(s.sink1)},
		{1750, "kill -9 slack-sink-1, restart", killRestart(s.sink1)},
		{1850, "Slack answers 200 again (outage ends)", func() { s.slack.SetDown(false) }},
		{1800, "kill -9 normalizer-1, restart", killRestart(s.norm1)},
		{1880, "kill -9 gateway, restart", killRestart(s.gateway)},
	}
	if s.tmpfs {
		steps = append(steps, step{1250, "fill the disk under nats-server's store", s.fillDisk})
		for i := range steps {
			if steps[i].at == 1400 {
				steps[i] = step{1400, "free the disk; kill -9 nats-server, restart", func() { s.freeDisk(); killRestart(s.nats)() }}
			}
		}
	}
	slices.SortFunc(steps, func(a, b step) int { return a.at - b.at })
	return steps
}

func (s *suite) noteSinkKill() {
	s.mu.Lock()
	s.sinkKills = append(s.sinkKills, time.Now())
	s.mu.Unlock()
}

// sendAll sends every delivery once, at a steady rate, running the schedule.
func (s *suite) sendAll() {
	t := s.t
	steps := map[int][]step{}
	for _, st := range s.schedule() {
		steps[st.at] = append(steps[st.at], st)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	defer client.CloseIdleConnections()
	url := s.gatewayURL + "/webhooks/github"
	// A gateway that stops answering cannot stretch the run past its
	// budget: what is not answered in time counts as refused.
	ctx, cancel := context.WithTimeout(context.Background(), sendBudget)
	defer cancel()
	tick := time.NewTicker(time.Second / sendRate)
	defer tick.Stop()
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for i, d := range s.deliveries {
		<-tick.C
		s.supervise()
		for _, st := range steps[i] {
			t.Logf("[delivery %4d] %s", i, st.name)
			st.do()
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(ctx, client, url, d)
			<-sem
		}()
	}
	wg.Wait()
}

// supervise restarts any service that died on its own, as a supervisor
// would, and remembers it: under these faults no service may crash.
func (s *suite) supervise() {
	for _, p := range []*service{s.nats, s.gateway, s.norm1, s.norm2, s.sink1, s.sink2} {
		if p.exitedEarly() {
			s.mu.Lock()
			s.unexpected = append(s.unexpected, fmt.Sprintf("%s (run %d)", p.name, p.starts))
			s.mu.Unlock()
			s.t.Logf("%s exited on its own (run %d); restarting it", p.name, p.starts)
			p.mu.Lock()
			p.cmd, p.done = nil, nil
			p.mu.Unlock()
			p.start(s.t)
		}
	}
}

// probeClient asks the gateway's /readyz; a gateway that does not answer
// within its timeout is not ready.
var probeClient = &http.Client{Timeout: 2 * time.Second}

func (s *suite) gatewayReady() bool {
	resp, err := probeClient.Get(s.gatewayURL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// resendRefused redelivers, with the same delivery id and body, every
// delivery that was not answered 2xx, as GitHub's Redeliver would, until
// each is accepted or resendFor has passed.
func (s *suite) resendRefused() {
	var refused []*sentDelivery
	for _, d := range s.deliveries {
		if !d.accepted() {
			refused = append(refused, d)
		}
	}
	if len(refused) == 0 {
		return
	}
	s.t.Logf("re-sending %d refused deliveries", len(refused))
	ctx, cancel := context.WithTimeout(context.Background(), resendFor)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second}
	url := s.gatewayURL + "/webhooks/github"
	waitUntil(resendFor, 200*time.Millisecond, func() bool {
		s.supervise()
		var left atomic.Int64
		var wg sync.WaitGroup
		next := make(chan *sentDelivery)
		for range inFlight {
			wg.Go(func() {
				for d := range next {
					if ctx.Err() != nil || send(ctx, client, url, d)/100 != 2 {
						left.Add(1)
					}
				}
			})
		}
		for _, d := range refused {
			if !d.accepted() {
				next <- d
			}
		}
		close(next)
		wg.Wait()
		return left.Load() == 0
	})
}

// mountTmpfs puts NATS's store on a tmpfs of tmpfsSize, so the disk can be
// filled; it reports false, and says why, where mounting is not permitted.
func mountTmpfs(t *testing.T, dir string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("SKIPPING the full-disk episode: not running as root, so no tmpfs can be mounted for nats-server's store")
		return false
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+tmpfsSize+",mode=0700"); err != nil {
		t.Logf("SKIPPING the full-disk episode: mounting a tmpfs is not permitted here (%v)", err)
		return false
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmounting the tmpfs at %s: %v", dir, err)
			}
		}
	})
	return true
}

// fillDisk writes a file into the tmpfs until no byte is left.
func (s *suite) fillDisk() {
	path := filepath.Join(s.storeRoot, "filler")
	f, err := os.Create(path)
	if err != nil {
		s.t.Errorf("creating the filler: %v", err)
		return
	}
	buf := make([]byte, 1<<20)
	var n int64
	for size := len(buf); size >= 512; size /= 2 {
		for {
			w, err := f.Write(buf[:size])
			n += int64(w)
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					s.t.Errorf("filling the disk: %v", err)
				}
				break
			}
		}
	}
	f.Close()
	s.filler = path
	s.t.Logf("the tmpfs is full (filler of %d MiB)", n>>20)
	// The gateway cannot store while the disk is full: its /readyz must
	// say so, so that a load balancer stops sending (docs/architecture.md).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stopProbe = func() { cancel(); <-done }
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if !s.gatewayReady() {
				s.mu.Lock()
				s.unreadyWhileFull = true
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

func (s *suite) freeDisk() {
	if s.filler == "" {
		return
	}
	s.stopProbe()
	if err := os.Remove(s.filler); err != nil {
		s.t.Errorf("freeing the disk: %v", err)
	}
	s.filler = ""
}

// letter is one dead letter.
type letter struct{ stage, reason string }

// fates is what became of the deliveries, as Slack, the dead-letter stream
// and the trace bucket tell.
type fates struct {
	// posts are the 200-answered posts of each delivery, in order.
	posts        map[int][]slackstandin.Request
	unattributed []slackstandin.Request
	dlq          map[string][]letter
	skipped      map[string]string
	idle         bool
}

func (s *suite) postsByDelivery() (map[int][]slackstandin.Request, []slackstandin.Request) {
	posts := map[int][]slackstandin.Request{}
	var unattributed []slackstandin.Request
	for _, r := range s.slack.Requests() {
		if !r.Posted() {
			continue
		}
		m := markerRE.FindSubmatch(r.Body)
		if m == nil {
			unattributed = append(unattributed, r)
			continue
		}
		i, _ := strconv.Atoi(string(m[1]))
		posts[i] = append(posts[i], r)
	}
	return posts, unattributed
}

// waitSettled waits until every accepted delivery is posted, dead-lettered
// or skipped and both consumers have nothing pending, or the deadline.
func (s *suite) waitSettled(js jetstream.JetStream, deadline time.Duration) fates {
	var f fates
	lastRead := time.Time{}
	waitUntil(deadline, 250*time.Millisecond, func() bool {
		s.supervise()
		f.posts, f.unattributed = s.postsByDelivery()
		open := 0
		for _, d := range s.deliveries {
			if d.accepted() && len(f.posts[d.idx]) == 0 && f.dlq[d.id] == nil && f.skipped[d.id] == "" {
				open++
			}
		}
		if open > 0 && time.Since(lastRead) < 2*time.Second {
			return false
		}
		lastRead = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		f.idle = consumersIdle(ctx, js)
		dlq, err := readDLQ(ctx, js)
		if err != nil {
			return false
		}
		f.dlq = dlq
		f.skipped = map[string]string{}
		store := trace.NewStore(js)
		open = 0
		for _, d := range s.deliveries {
			if !d.accepted() || len(f.posts[d.idx]) > 0 || f.dlq[d.id] != nil {
				continue
			}
			{
				recs, _ := store.List(ctx, d.id)
				for _, r := range recs {
					if r.Stage == trace.StageSink && r.Outcome == trace.OutcomeSkipped {
						f.skipped[d.id] = r.Reason
					}
				}
			}
			if f.skipped[d.id] == "" {
				open++
			}
		}
		return open == 0 && f.idle
	})
	f.posts, f.unattributed = s.postsByDelivery()
	return f
}

func consumersIdle(ctx context.Context, js jetstream.JetStream) bool {
	for _, c := range [][2]string{{provision.StreamRaw, provision.ConsumerNormalizer}, {provision.StreamEvents, provision.ConsumerSlackSink}} {
		cons, err := js.Consumer(ctx, c[0], c[1])
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
			return false
		}
	}
	return true
}

// readDLQ reads every dead letter, by delivery id.
func readDLQ(ctx context.Context, js jetstream.JetStream) (map[string][]letter, error) {
	out := map[string][]letter{}
	st, err := js.Stream(ctx, provision.StreamDLQ)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	n := st.CachedInfo().State.Msgs
	if n == 0 {
		return out, nil
	}
	cons, err := js.OrderedConsumer(ctx, provision.StreamDLQ, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	for range n {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return nil, fmt.Errorf("reading dead letters: %w", err)
		}
		h := m.Headers()
		id := h.Get("X-GitHub-Delivery")
		out[id] = append(out[id], letter{stage: h.Get(deadletter.HeaderStage), reason: h.Get(deadletter.HeaderReason)})
	}
	return out, nil
}

// report prints the figures and fails on any loss, any double post not
// explained by a sink's kill -9, and any crash.
func (s *suite) report(f fates) {
	t := s.t
	var (
		firstOK, refused, resentOK, neverAccepted         int
		expectedEvents, expectedRefusals                  int
		postedOnce, postedTwice, windowDoubles            int
		dlqNormalizer, dlqSink, skipped, lost, notRefused int
		reordered                                         int
		lostIDs, doubleIDs                                []string
		reasons                                           = map[string]int{}
	)
	s.mu.Lock()
	kills := slices.Clone(s.sinkKills)
	unexpected := slices.Clone(s.unexpected)
	unclean := slices.Clone(s.unclean)
	unreadyWhileFull := s.unreadyWhileFull
	s.mu.Unlock()
	for _, d := range s.deliveries {
		switch {
		case d.firstAccepted():
			firstOK++
		case d.accepted():
			refused++
			resentOK++
		default:
			refused++
			neverAccepted++
		}
		if !d.accepted() {
			continue
		}
		if d.eventID != "" {
			expectedEvents++
		} else {
			expectedRefusals++
		}
		posts := f.posts[d.idx]
		switch {
		case len(posts) == 1:
			postedOnce++
		case len(posts) > 1:
			postedTwice++
			if inKillWindow(posts[0].At, kills) {
				windowDoubles++
			} else {
				doubleIDs = append(doubleIDs, fmt.Sprintf("%s (%s, %s, posted %d times)", d.id, d.kind, d.file, len(posts)))
			}
		case f.dlq[d.id] != nil:
			l := f.dlq[d.id][0]
			if l.stage == trace.StageNormalizer {
				dlqNormalizer++
			} else {
				dlqSink++
			}
			reasons["dead-lettered by "+l.stage+": "+shorten(l.reason)]++
			if d.eventID != "" {
				notRefused++
			}
		case f.skipped[d.id] != "":
			skipped++
			reasons["skipped: "+f.skipped[d.id]]++
		default:
			lost++
			lostIDs = append(lostIDs, fmt.Sprintf("%s (%s, %s, answers %v)", d.id, d.event, d.file, d.attempts))
		}
	}
	reordered = countReordered(s.deliveries, f.posts)

	t.Logf("==== chaos figures ====")
	t.Logf("deliveries sent:                      %d", len(s.deliveries))
	t.Logf("answered 2xx on the first try:        %d", firstOK)
	t.Logf("refused (non-2xx or no answer):       %d, re-sent with the same id: %d accepted, %d never accepted", refused, resentOK, neverAccepted)
	t.Logf("events expected (accepted):           %d (plus %d deliveries the normalizer must refuse)", expectedEvents, expectedRefusals)
	t.Logf("posted once:                          %d", postedOnce)
	t.Logf("posted twice or more:                 %d (%d within %s before a sink kill -9, the documented window; %d others)", postedTwice, windowDoubles, killWindow, postedTwice-windowDoubles)
	t.Logf("dead-lettered:                        %d by the normalizer, %d by the sink (%d of them events that should have been posted)", dlqNormalizer, dlqSink, notRefused)
	t.Logf("skipped with a reason:                %d", skipped)
	t.Logf("lost:                                 %d", lost)
	t.Logf("posts Slack could not attribute:      %d", len(f.unattributed))
	t.Logf("posted ahead of an earlier-accepted delivery (order, not failed on): %d", reordered)
	var answered = map[int]int{}
	for _, r := range s.slack.Requests() {
		answered[r.Status]++
	}
	t.Logf("Slack stand-in answered:              %d x 200, %d x 429, %d x 503", answered[200], answered[429], answered[503])
	t.Logf("sink kills: %d; services that died on their own: %d %v; consumers idle at the end: %v", len(kills), len(unexpected), unexpected, f.idle)
	t.Logf("services that did not exit within %s of SIGTERM: %v", stopGrace, unclean)
	if s.tmpfs {
		t.Logf("gateway /readyz said not ready while the disk was full: %v", unreadyWhileFull)
	}
	var rs []string
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%4d  %s", n, r))
	}
	sort.Strings(rs)
	for _, r := range rs {
		t.Logf("fate reason: %s", r)
	}

	if neverAccepted > 0 {
		t.Errorf("%d refused deliveries were never accepted on redelivery: the system did not recover", neverAccepted)
	}
	if lost > 0 {
		t.Errorf("%d accepted deliveries were lost (neither posted, dead-lettered nor skipped); first ones:\n  %s", lost, strings.Join(first(lostIDs, 15), "\n  "))
	}
	if len(doubleIDs) > 0 {
		t.Errorf("%d events were posted twice outside the kill -9 window:\n  %s", len(doubleIDs), strings.Join(first(doubleIDs, 15), "\n  "))
	}
	if len(f.unattributed) > 0 {
		t.Errorf("%d posts name no delivery of this run; first: %.300s", len(f.unattributed), f.unattributed[0].Body)
	}
	if len(unexpected) > 0 {
		t.Errorf("services died on their own under the faults: %v", unexpected)
	}
	if len(unclean) > 0 {
		t.Errorf("services did not exit within %s of SIGTERM: %v", stopGrace, unclean)
	}
	if s.tmpfs && !unreadyWhileFull {
		t.Errorf("the gateway's /readyz answered ready throughout the full disk, while it could store nothing")
	}
	if !f.idle {
		t.Errorf("the consumers still had messages pending when the wait ended")
	}
}

func inKillWindow(at time.Time, kills []time.Time) bool {
	for _, k := range kills {
		if !at.After(k) && k.Sub(at) <= killWindow {
			return true
		}
	}
	return false
}

// countReordered counts first posts that came before the first post of a
// delivery the gateway had accepted before this one was even sent.
func countReordered(ds []*sentDelivery, posts map[int][]slackstandin.Request) int {
	type fp struct {
		seq              int
		sentAt, accepted time.Time
	}
	var list []fp
	for _, d := range ds {
		if p := posts[d.idx]; len(p) > 0 && d.firstAccepted() {
			list = append(list, fp{p[0].Seq, d.firstSentAt, d.acceptedAt})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	n := 0
	var minLater time.Time
	for i := len(list) - 1; i >= 0; i-- {
		if !minLater.IsZero() && minLater.Before(list[i].sentAt) {
			n++
		}
		if minLater.IsZero() || list[i].accepted.Before(minLater) {
			minLater = list[i].accepted
		}
	}
	return n
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}
