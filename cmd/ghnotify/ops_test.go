package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/normalizer"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// switchSlack is an httptest Slack with one incoming webhook per path; a
// path listed in broken answers 404 channel_not_found until it is fixed.
type switchSlack struct {
	mu     sync.Mutex
	broken map[string]bool
	down   map[string]bool
	posts  map[string][]string
}

var issueTitleRE = regexp.MustCompile(`ops-issue-\d+`)

func (s *switchSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[r.URL.Path] {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "service_unavailable")
		return
	}
	if s.broken[r.URL.Path] {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "channel_not_found")
		return
	}
	s.posts[r.URL.Path] = append(s.posts[r.URL.Path], issueTitleRE.FindString(string(b)))
	io.WriteString(w, "ok")
}

func (s *switchSlack) fix(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.broken, path)
	delete(s.down, path)
}

func (s *switchSlack) takeDown(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[path] = true
}

func (s *switchSlack) got(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posts[path]...)
}

// opsStack is the whole stack in-process against a test NATS server, and
// the environment under which the operations commands reach that server.
type opsStack struct {
	t     *testing.T
	js    jetstream.JetStream
	slack *switchSlack
	env   map[string]string
}

const opsRoutes = `destinations:
  ok:   {webhook: "${SLACK}/ok"}
  gone: {webhook: "${SLACK}/gone"}
routes:
  - {name: to-ok, match: {kind: issues.opened}, to: ok, continue: true}
  - {name: to-gone, match: {kind: issues.opened, repo: acme/rocket}, to: gone}
`

func startOpsStack(t *testing.T, broken ...string) *opsStack {
	t.Helper()
	ns := natstest.Start(t)
	slack := &switchSlack{broken: map[string]bool{}, down: map[string]bool{}, posts: map[string][]string{}}
	for _, b := range broken {
		slack.broken[b] = true
	}
	slackSrv := httptest.NewServer(slack)
	t.Cleanup(slackSrv.Close)
	routesFile := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routesFile, []byte(opsRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	env := config.NewEnv(envOf(map[string]string{
		"GITHUB_WEBHOOK_SECRET": "ops-secret",
		"GHNOTIFY_ROUTES":       routesFile,
		"SLACK":                 slackSrv.URL,
		// Posts are not held back by Slack's rate in these tests.
		"GHNOTIFY_SLACK_RATE_PER_MINUTE": "600000",
		"GHNOTIFY_SLACK_BURST":           "100",
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stackConfig{
		DataDir:         t.TempDir(),
		NATSListen:      listenOff,
		Provision:       provision.Defaults(),
		ShutdownTimeout: 30 * time.Second,
		Gateway:         gateway.ConfigFromEnv(env),
		Normalizer:      normalizer.ConfigFromEnv(env),
		Sink:            sink.ConfigFromEnv(env),
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	cfg.Gateway.Listener = ln
	cfg.NATS.URL = ns.Srv.ClientURL()
	cfg.Sink.Lookup = envOf(map[string]string{"SLACK": slackSrv.URL})
	logs := &syncBuffer{}
	dumpOnFailure(t, "stack log", logs)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- runStack(ctx, cfg, zerolog.New(logs)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("stack stopped with %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("stack did not stop within 60s")
		}
	})
	waitHealthy(t, "http://"+ln.Addr().String(), 30*time.Second)
	return &opsStack{t: t, js: ns.JS, slack: slack, env: map[string]string{"NATS_URL": ns.Srv.ClientURL()}}
}

// storeIssue stores an issues/opened delivery in the raw stream as the
// gateway would.
func (s *opsStack) storeIssue(id string, number int) {
	s.t.Helper()
	d := delivery.Delivery{Event: "issues", ID: id, HookID: "7", ReceivedAt: time.Now().UTC(), Body: issuePayload(number, fmt.Sprintf("ops-issue-%d", number))}
	if _, err := s.js.PublishMsg(context.Background(), d.Msg()); err != nil {
		s.t.Fatal(err)
	}
}

// cli runs one ghnotify command against the stack's NATS.
func (s *opsStack) cli(args ...string) (string, error) {
	s.t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut, envOf(s.env))
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func (s *opsStack) mustCLI(args ...string) string {
	s.t.Helper()
	out, err := s.cli(args...)
	if err != nil {
		s.t.Fatalf("ghnotify %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitIdle waits until the normalizer and the sink have acknowledged
// everything stored so far.
func (s *opsStack) waitIdle() {
	s.t.Helper()
	natstest.WaitFor(s.t, 30*time.Second, "the consumers to catch up", func() bool {
		for _, c := range []struct{ stream, name string }{{provision.StreamRaw, provision.ConsumerNormalizer}, {provision.StreamEvents, provision.ConsumerSlackSink}} {
			cons, err := s.js.Consumer(context.Background(), c.stream, c.name)
			if err != nil {
				return false
			}
			info, err := cons.Info(context.Background())
			if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestDeadLetterRedrivenAfterTheFixPostsOnce: a delivery dead-lettered by a
// 404 destination shows up in deliveries, trace and dlq list; once the
// channel is fixed, dlq redrive posts it there exactly once, and nowhere
// else again, and the dead letter is gone.
func TestDeadLetterRedrivenAfterTheFixPostsOnce(t *testing.T) {
	s := startOpsStack(t, "/gone")
	s.storeIssue("dl-1", 1)
	natstest.WaitFor(t, 30*time.Second, "the dead letter", func() bool {
		out, err := s.cli("dlq", "list", "--json")
		return err == nil && strings.Contains(out, `"delivery_id": "dl-1"`)
	})
	s.waitIdle()

	var listed []deadLetterInfo
	if err := json.Unmarshal([]byte(s.mustCLI("dlq", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Destination != "gone" || listed[0].Stage != "slack-sink" || !strings.Contains(listed[0].Reason, "channel_not_found") {
		t.Fatalf("dlq list = %+v, want one slack-sink dead letter for gone", listed)
	}
	table := s.mustCLI("deliveries", "--status", "dead-lettered")
	if !strings.Contains(table, "dl-1") || !strings.Contains(table, "posted to ok") || !strings.Contains(table, "dead-lettered gone") || !strings.Contains(table, "acme/rocket") {
		t.Errorf("deliveries table:\n%s", table)
	}
	if out := s.mustCLI("deliveries", "--status", "skipped"); strings.Contains(out, "dl-1") {
		t.Errorf("--status skipped listed dl-1:\n%s", out)
	}
	tr := s.mustCLI("trace", "dl-1")
	for _, want := range []string{"stored raw #1 on github.raw.issues", "normalized", "posted issues.opened to ok (route to-ok", "dead-lettered issues.opened for gone", "dlq redrive " + fmt.Sprint(listed[0].Sequence)} {
		if !strings.Contains(tr, want) {
			t.Errorf("trace lacks %q:\n%s", want, tr)
		}
	}

	// Redriving before the fix dead-letters it again; a dry run changes nothing.
	if out := s.mustCLI("dlq", "redrive", "--all", "--dry-run"); !strings.Contains(out, "would redrive") {
		t.Errorf("dry run: %s", out)
	}
	s.slack.fix("/gone")
	out := s.mustCLI("dlq", "redrive", fmt.Sprint(listed[0].Sequence))
	if !strings.Contains(out, "redrove") {
		t.Errorf("redrive said %q", out)
	}
	natstest.WaitFor(t, 30*time.Second, "the redriven post", func() bool { return len(s.slack.got("/gone")) >= 1 })
	// A later delivery is the barrier: once it is posted, the redrive has
	// had every chance to post twice.
	s.storeIssue("dl-2", 2)
	natstest.WaitFor(t, 30*time.Second, "the barrier", func() bool { return count(s.slack.got("/gone"), "ops-issue-2") == 1 })
	s.waitIdle()
	if got := s.slack.got("/gone"); count(got, "ops-issue-1") != 1 {
		t.Errorf("gone got %v, want ops-issue-1 exactly once", got)
	}
	if got := s.slack.got("/ok"); count(got, "ops-issue-1") != 1 {
		t.Errorf("ok got %v, want ops-issue-1 exactly once (the redrive is for gone only)", got)
	}
	if out := s.mustCLI("dlq", "list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("dlq list after the redrive:\n%s", out)
	}
	if _, err := s.cli("dlq", "redrive", fmt.Sprint(listed[0].Sequence)); err == nil {
		t.Error("redriving a removed dead letter succeeded")
	}
	if tr := s.mustCLI("trace", "dl-1"); !strings.Contains(tr, "posted issues.opened to gone (route to-gone, replay redrive-") {
		t.Errorf("trace after the redrive:\n%s", tr)
	}
}

// TestReplayEventsPostsEachOnceMore: replaying 100 events posts each once
// more and only once, a dry run changes nothing, and a replay of raw
// deliveries in dry run changes nothing either.
func TestReplayEventsPostsEachOnceMore(t *testing.T) {
	s := startOpsStack(t)
	const n = 100
	for i := 1; i <= n; i++ {
		s.storeIssue(fmt.Sprintf("rp-%d", i), i)
	}
	natstest.WaitFor(t, 60*time.Second, "the first posts", func() bool { return len(s.slack.got("/ok")) == n })
	s.waitIdle()
	rawBefore, evBefore := streamMsgs(t, s.js, provision.StreamRaw), streamMsgs(t, s.js, provision.StreamEvents)

	out := s.mustCLI("replay", "raw", "--since", "1h", "--dry-run")
	if !strings.Contains(out, fmt.Sprintf("%d raw deliveries would be replayed", n)) {
		t.Errorf("replay raw --dry-run said:\n%s", out)
	}
	out = s.mustCLI("replay", "events", "--subject", "github.event.acme.>", "--dry-run")
	if !strings.Contains(out, fmt.Sprintf("%d events would be replayed", n)) {
		t.Errorf("replay events --dry-run said:\n%s", out)
	}
	if r, e := streamMsgs(t, s.js, provision.StreamRaw), streamMsgs(t, s.js, provision.StreamEvents); r != rawBefore || e != evBefore {
		t.Fatalf("a dry run changed the streams: raw %d -> %d, events %d -> %d", rawBefore, r, evBefore, e)
	}

	out = s.mustCLI("replay", "events", "--subject", "github.event.acme.>", "--id", "again1", "--to", "ok")
	if !strings.Contains(out, fmt.Sprintf("replay again1: %d events published again to ok", n)) {
		t.Errorf("replay events said:\n%s", out)
	}
	// Running the same replay again (resuming it) publishes nothing new.
	s.mustCLI("replay", "events", "--subject", "github.event.acme.>", "--id", "again1", "--to", "ok")
	natstest.WaitFor(t, 60*time.Second, "the replayed posts", func() bool { return len(s.slack.got("/ok")) >= 2*n })
	s.storeIssue("rp-barrier", n+1)
	natstest.WaitFor(t, 30*time.Second, "the barrier", func() bool { return count(s.slack.got("/ok"), fmt.Sprintf("ops-issue-%d", n+1)) == 1 })
	s.waitIdle()
	got := s.slack.got("/ok")
	for i := 1; i <= n; i++ {
		if c := count(got, fmt.Sprintf("ops-issue-%d", i)); c != 2 {
			t.Errorf("ops-issue-%d posted %d times, want 2 (once, then once by the replay)", i, c)
		}
	}
	if len(s.slack.got("/gone")) != n+1 {
		t.Errorf("gone got %d posts, want %d (the originals and the barrier): the replay was limited to ok", len(s.slack.got("/gone")), n+1)
	}
	if e := streamMsgs(t, s.js, provision.StreamEvents); e != evBefore+n+1 {
		t.Errorf("events stream has %d messages, want %d: the resumed replay was stored twice", e, evBefore+n+1)
	}
	// A raw delivery replayed is normalized again and its event posted
	// once more to every destination.
	out = s.mustCLI("replay", "raw", "--delivery", "rp-3", "--id", "raw1")
	if !strings.Contains(out, "replay raw1: 1 raw deliveries published again") {
		t.Errorf("replay raw said:\n%s", out)
	}
	natstest.WaitFor(t, 30*time.Second, "the raw replay's posts", func() bool {
		return count(s.slack.got("/ok"), "ops-issue-3") == 3 && count(s.slack.got("/gone"), "ops-issue-3") == 2
	})
	s.storeIssue("rp-barrier-2", n+2)
	natstest.WaitFor(t, 30*time.Second, "the second barrier", func() bool { return count(s.slack.got("/ok"), fmt.Sprintf("ops-issue-%d", n+2)) == 1 })
	s.waitIdle()
	if o, g := count(s.slack.got("/ok"), "ops-issue-3"), count(s.slack.got("/gone"), "ops-issue-3"); o != 3 || g != 2 {
		t.Errorf("after the raw replay ops-issue-3 was posted %d times to ok and %d to gone, want 3 and 2", o, g)
	}
	tr := s.mustCLI("trace", "rp-7")
	if !strings.Contains(tr, "(replay again1, to ok)") || !strings.Contains(tr, "replay again1)") {
		t.Errorf("trace of a replayed delivery:\n%s", tr)
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestRedriveNormalizerDeadLetter: a raw delivery the normalizer cannot
// read is redriven to the normalizer as a replay; failing again, it is
// dead-lettered again under a new sequence, marked with the redrive, and
// the redriven dead letter is gone.
func TestRedriveNormalizerDeadLetter(t *testing.T) {
	s := startOpsStack(t)
	d := delivery.Delivery{Event: "issues", ID: "poison-1", ReceivedAt: time.Now().UTC(), Body: []byte(`{"action": "opened", "issue": 7}`)}
	if _, err := s.js.PublishMsg(context.Background(), d.Msg()); err != nil {
		t.Fatal(err)
	}
	var first []deadLetterInfo
	natstest.WaitFor(t, 30*time.Second, "the normalizer's dead letter", func() bool {
		out, err := s.cli("dlq", "list", "--stage", "normalizer", "--json")
		return err == nil && json.Unmarshal([]byte(out), &first) == nil && len(first) == 1
	})
	if first[0].DeliveryID != "poison-1" || first[0].Subject != "github.raw.issues" {
		t.Fatalf("dead letter %+v", first[0])
	}
	if out := s.mustCLI("dlq", "list", "--stage", "slack-sink"); !strings.Contains(out, "no dead letters") {
		t.Errorf("slack-sink dead letters:\n%s", out)
	}
	s.mustCLI("dlq", "redrive", "--all", "--stage", "normalizer")
	var again []deadLetterInfo
	natstest.WaitFor(t, 30*time.Second, "the redriven delivery's new dead letter", func() bool {
		out, err := s.cli("dlq", "list", "--json")
		return err == nil && json.Unmarshal([]byte(out), &again) == nil && len(again) == 1 && again[0].Sequence != first[0].Sequence
	})
	if want := fmt.Sprintf("redrive-%d", first[0].Sequence); again[0].Replay != want || again[0].DeliveryID != "poison-1" {
		t.Errorf("new dead letter %+v, want replay %s of poison-1", again[0], want)
	}
	tr := s.mustCLI("trace", "poison-1")
	if !strings.Contains(tr, "replayed raw #") || !strings.Contains(tr, fmt.Sprintf("dead letter #%d waiting", again[0].Sequence)) {
		t.Errorf("trace of the poison delivery:\n%s", tr)
	}
	if out := s.mustCLI("deliveries", "--status", "dead-lettered"); !strings.Contains(out, "poison-1") || !strings.Contains(out, "dead-lettered by the normalizer") {
		t.Errorf("deliveries:\n%s", out)
	}
}

// TestDeliveriesShowsEventsTheSinkIsRetrying: while every destination of an
// event is down, deliveries and trace say the sink is still at it; once the
// destinations are back, the delivery is posted and no longer retrying.
func TestDeliveriesShowsEventsTheSinkIsRetrying(t *testing.T) {
	s := startOpsStack(t)
	s.slack.takeDown("/ok")
	s.slack.takeDown("/gone")
	s.storeIssue("down-1", 1)
	natstest.WaitFor(t, 30*time.Second, "the delivery to be listed as retrying", func() bool {
		out, err := s.cli("deliveries", "--status", "retrying")
		return err == nil && strings.Contains(out, "down-1") && strings.Contains(out, "at the sink, waiting or retrying (1 event(s))")
	})
	if tr := s.mustCLI("trace", "down-1"); !strings.Contains(tr, "at sink:    down-1/issues.opened") {
		t.Errorf("trace while the destinations are down:\n%s", tr)
	}
	s.slack.fix("/ok")
	s.slack.fix("/gone")
	natstest.WaitFor(t, 60*time.Second, "the posts once the destinations are back", func() bool {
		return len(s.slack.got("/ok")) == 1 && len(s.slack.got("/gone")) == 1
	})
	s.waitIdle()
	if out := s.mustCLI("deliveries", "--status", "retrying"); !strings.Contains(out, "no deliveries") {
		t.Errorf("still retrying after the posts:\n%s", out)
	}
	if out := s.mustCLI("deliveries", "--status", "posted"); !strings.Contains(out, "posted to ok, gone") && !strings.Contains(out, "posted to gone, ok") {
		t.Errorf("deliveries after the posts:\n%s", out)
	}
}
