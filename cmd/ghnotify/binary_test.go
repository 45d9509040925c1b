package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	natsserver "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestBinaryRunSendAndRestart runs the real `ghnotify run` with no
// configuration but a data directory, sends the README's sample delivery
// with `ghnotify send`, sees the console notification, stops it with
// SIGTERM, and starts it again on the same data directory (opened to others
// meanwhile, which the start restricts again). /metrics is served on the
// operations address, not on the webhook port.
func TestBinaryRunSendAndRestart(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(binaries(t), "ghnotify")
	root := corpus.RepoRoot(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := childEnv(
		"GHNOTIFY_DATA_DIR="+dataDir,
		"GHNOTIFY_HTTP_ADDR=127.0.0.1:0",
		"GHNOTIFY_OPS_ADDR=127.0.0.1:0",
		"GHNOTIFY_NATS_LISTEN=127.0.0.1:0",
		"GHNOTIFY_LOG_FORMAT=json",
	)

	run := startProc(t, "ghnotify run", bin, env, "run")
	httpAddr, opsAddr := run.httpAddr(t), run.logged(t, opsListeningMsg, "ops_addr")
	waitHealthy(t, "http://"+httpAddr, 30*time.Second)

	secretPath := SecretFilePath(dataDir)
	fi, err := os.Stat(secretPath)
	if err != nil {
		t.Fatalf("no generated secret: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %o, want 600", fi.Mode().Perm())
	}
	secret, err := readSecretFile(secretPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(run.stderr.String(), secretPath) {
		t.Error("the log does not say where the generated secret is")
	}

	send := exec.Command(bin, "send", "--url", "http://"+httpAddr+"/webhooks/github", filepath.Join(root, "examples", "issues-opened.json"))
	send.Env = env
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("ghnotify send: %v\n%s", err, out)
	}
	natstest.WaitFor(t, 30*time.Second, "the console notification on stdout", func() bool {
		return strings.Contains(run.stdout.String(), "Launch countdown skips from 3 to 1")
	})

	// /metrics is not served on the webhook port.
	if resp, err := http.Get("http://" + httpAddr + "/metrics"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the webhook port answered %d, want 404", resp.StatusCode)
	}
	// One /metrics on the operations address shows the gateway's and the
	// sink's metrics, Go's once.
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %d:\n%s", resp.StatusCode, metrics)
	}
	for _, name := range []string{`ghnotify_gateway_requests_total{event="issues",outcome="stored"} 1`, `ghnotify_sink_events_total{outcome="routed"} 1`, "go_goroutines "} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}

	// A delivery signed with another secret is refused and changes nothing.
	bad := exec.Command(bin, "send", "--url", "http://"+httpAddr+"/webhooks/github", "--event", "issues", filepath.Join(root, "examples", "issues-opened.json"))
	bad.Env = append(append([]string(nil), env...), "GITHUB_WEBHOOK_SECRET=wrong-secret")
	if out, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("send with a wrong secret succeeded:\n%s", out)
	}

	run.stop(t, 60*time.Second)
	for _, out := range []string{run.stdout.String(), run.stderr.String()} {
		if strings.Contains(out, secret.Reveal()) {
			t.Fatal("the webhook secret appeared in the output")
		}
	}

	// A data directory opened to others is restricted again at start.
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	again := startProc(t, "ghnotify run (second start)", bin, env, "run")
	httpAddr = again.httpAddr(t)
	waitHealthy(t, "http://"+httpAddr, 30*time.Second)
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory after a start: %v %v, want mode 0700", fi.Mode(), err)
	}
	reused, err := readSecretFile(secretPath)
	if err != nil {
		t.Fatal(err)
	}
	if reused != secret {
		t.Fatal("the second start replaced the webhook secret")
	}
	// The stored delivery is not notified again on restart; a new one is.
	ping := exec.Command(bin, "send", "--url", "http://"+httpAddr+"/webhooks/github", "--form", filepath.Join(root, "examples", "ping.json"))
	ping.Env = env
	if out, err := ping.CombinedOutput(); err != nil {
		t.Fatalf("ghnotify send after restart: %v\n%s", err, out)
	}
	natstest.WaitFor(t, 30*time.Second, "the ping notification after the restart", func() bool {
		return strings.Contains(again.stdout.String(), "ping")
	})
	again.stop(t, 60*time.Second)
	if n := strings.Count(again.stdout.String(), "Launch countdown skips from 3 to 1"); n != 0 {
		t.Fatalf("the first delivery was notified again after the restart (%d times)", n)
	}
}

// TestServicesAnyOrderAndSIGTERMLosesNothing starts the Slack sink and the
// normalizer before NATS exists, then NATS, then the gateway; sends
// deliveries; stops the normalizer with SIGTERM while deliveries keep coming;
// starts it again, and checks that every delivery became exactly one
// canonical event and exactly one notification.
func TestServicesAnyOrderAndSIGTERMLosesNothing(t *testing.T) {
	dir := binaries(t)
	// The services start before NATS exists, so its port is named before
	// the server can listen on port 0 and report it.
	natsPort := freePort(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
	const secret = "order-test-secret"
	env := childEnv("NATS_URL="+natsURL, "GHNOTIFY_LOG_FORMAT=json", "GHNOTIFY_HTTP_ADDR=127.0.0.1:0",
		"GITHUB_WEBHOOK_SECRET="+secret, "GHNOTIFY_OPS_ADDR=127.0.0.1:0")

	// The sink and the normalizer start first, with no NATS server yet.
	sinkProc := startProc(t, "slack-sink", filepath.Join(dir, "slack-sink"), env)
	norm := startProc(t, "normalizer", filepath.Join(dir, "normalizer"), env)
	sinkOps, normOps := "http://"+sinkProc.logged(t, opsListeningMsg, "ops_addr"), "http://"+norm.logged(t, opsListeningMsg, "ops_addr")
	// Each serves /healthz at once, and /readyz only once consuming.
	for _, base := range []string{sinkOps, normOps} {
		waitHealthy(t, base, 30*time.Second)
		if code := httpStatus(t, base+"/readyz"); code != http.StatusServiceUnavailable {
			t.Fatalf("%s/readyz answered %d before NATS exists, want 503", base, code)
		}
	}

	opts := natstest.Options(t.TempDir())
	opts.Port = natsPort
	srv := natsserver.RunServer(opts)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	_, js := natstest.Connect(t, srv.ClientURL())

	gw := startProc(t, "gateway", filepath.Join(dir, "gateway"), env)
	gwOps := "http://" + gw.logged(t, opsListeningMsg, "ops_addr")
	base := "http://" + gw.logged(t, "gateway listening", "addr")
	waitHealthy(t, base, 30*time.Second)
	for _, base := range []string{sinkOps, normOps} {
		natstest.WaitFor(t, 30*time.Second, base+"/readyz to answer 200", func() bool { return httpStatus(t, base+"/readyz") == http.StatusOK })
	}

	const n = 40
	ids := make([]string, n)
	send := func(from, to int) {
		for i := from; i < to; i++ {
			ids[i] = fmt.Sprintf("order-test-%03d", i)
			if code := postDelivery(t, base, secret, "issues", ids[i], issuePayload(100+i, fmt.Sprintf("Issue %d", i))); code/100 != 2 {
				t.Fatalf("gateway answered %d to delivery %d", code, i)
			}
		}
	}
	send(0, n/2)
	ctx := context.Background()
	natstest.WaitFor(t, 30*time.Second, "the normalizer to publish its first events", func() bool {
		s, err := js.Stream(ctx, provision.StreamEvents)
		return err == nil && s.CachedInfo().State.Msgs > 0
	})
	// Stop the normalizer mid-flow while deliveries keep arriving.
	if err := norm.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	send(n/2, n)
	select {
	case <-norm.done:
	case <-time.After(60 * time.Second):
		t.Fatal("normalizer did not stop within 60s")
	}
	if norm.err != nil {
		t.Fatalf("normalizer exited with %v, want a clean exit", norm.err)
	}

	norm = startProc(t, "normalizer (restarted)", filepath.Join(dir, "normalizer"), env)
	normOps = "http://" + norm.logged(t, opsListeningMsg, "ops_addr")
	natstest.WaitFor(t, 60*time.Second, "the normalizer to finish every raw delivery", func() bool {
		c, err := js.Consumer(ctx, provision.StreamRaw, provision.ConsumerNormalizer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= n
	})

	counts := map[string]int{}
	cons, err := js.OrderedConsumer(ctx, provision.StreamEvents, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.Stream(ctx, provision.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	total := int(info.CachedInfo().State.Msgs)
	for range total {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("reading events: %v", err)
		}
		var ev struct {
			Data struct {
				DeliveryID string `json:"delivery_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatalf("event is not JSON: %v", err)
		}
		counts[ev.Data.DeliveryID]++
	}
	for _, id := range ids {
		if counts[id] != 1 {
			t.Errorf("delivery %s became %d canonical events, want exactly 1", id, counts[id])
		}
	}
	if total != n {
		t.Errorf("events stream holds %d events, want %d", total, n)
	}
	dlq, err := js.Stream(ctx, provision.StreamDLQ)
	if err == nil && dlq.CachedInfo().State.Msgs != 0 {
		t.Errorf("%d messages were dead-lettered", dlq.CachedInfo().State.Msgs)
	}

	natstest.WaitFor(t, 60*time.Second, "the sink to settle every event", func() bool {
		c, err := js.Consumer(ctx, provision.StreamEvents, provision.ConsumerSlackSink)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= uint64(total)
	})
	// Every service's metrics are on its operations address, none on the
	// webhook port.
	for url, want := range map[string]string{
		sinkOps + "/metrics": `ghnotify_sink_events_total{outcome="routed"} 40`,
		normOps + "/metrics": "go_goroutines ",
		gwOps + "/metrics":   `ghnotify_gateway_requests_total{event="issues",outcome="stored"} 40`,
	} {
		if body := httpBody(t, url); !strings.Contains(body, want) {
			t.Errorf("%s lacks %q", url, want)
		}
	}
	if code := httpStatus(t, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the gateway's webhook port answered %d, want 404", code)
	}
	printed := sinkProc.stdout.String()
	for i := range n {
		if c := strings.Count(printed, fmt.Sprintf("%q", fmt.Sprintf("Issue %d", i))); c != 1 {
			t.Errorf("issue %d was notified %d times, want exactly once", i, c)
		}
	}
	gw.stop(t, 30*time.Second)
	sinkProc.stop(t, 30*time.Second)
}

// TestBinaryRunSIGTERMMidFlowLosesNothing stops the real `ghnotify run` with
// SIGTERM while signed deliveries are still arriving, starts it again on the
// same data directory, and checks that every delivery the gateway accepted
// was notified exactly once across both runs. Shutdown settles or hands back
// everything a service received; what the server had already sent toward a
// pull request still open when the consumer stopped never reached the
// service and comes back after AckWait (5 s for both here), which the wait
// below allows for.
func TestBinaryRunSIGTERMMidFlowLosesNothing(t *testing.T) {
	bin := filepath.Join(binaries(t), "ghnotify")
	dataDir := filepath.Join(t.TempDir(), "data")
	const secret = "sigterm-test-secret"
	env := childEnv(
		"GHNOTIFY_DATA_DIR="+dataDir,
		"GHNOTIFY_HTTP_ADDR=127.0.0.1:0",
		"GHNOTIFY_NATS_LISTEN=127.0.0.1:0",
		"GITHUB_WEBHOOK_SECRET="+secret,
		"GHNOTIFY_NORMALIZER_ACK_WAIT=5s",
		"GHNOTIFY_SINK_ACK_WAIT=5s",
		"GHNOTIFY_LOG_FORMAT=json",
	)
	first := startProc(t, "ghnotify run", bin, env, "run")
	base := "http://" + first.httpAddr(t)
	waitHealthy(t, base, 30*time.Second)

	// Senders post deliveries until the gateway stops answering; every one
	// answered 2xx was stored and must be notified.
	const senders, perSender = 4, 50
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				title := fmt.Sprintf("Sigterm issue %d-%d", s, i)
				d, err := signDelivery(issuePayload(1000+s*perSender+i, title), deliveryParams{
					Event: "issues", DeliveryID: fmt.Sprintf("sigterm-%d-%d", s, i), HookID: "1", Secret: []byte(secret),
				})
				if err != nil {
					t.Error(err)
					return
				}
				req, err := http.NewRequest(http.MethodPost, base+defaultGatewayPath, strings.NewReader(string(d.Body)))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header = d.Header
				resp, err := client.Do(req)
				if err != nil {
					return // the gateway has stopped listening
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					return // shutting down (503) or gone
				}
				mu.Lock()
				accepted[title] = true
				mu.Unlock()
			}
		})
	}
	// Stop the stack once notifications are flowing, with deliveries still
	// arriving and events still in the pipeline.
	natstest.WaitFor(t, 30*time.Second, "notifications flowing and deliveries accepted", func() bool {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		return n >= 40 && strings.Contains(first.stdout.String(), "Sigterm issue")
	})
	first.stop(t, 60*time.Second)
	wg.Wait()

	mu.Lock()
	want := len(accepted)
	mu.Unlock()
	if want == 0 {
		t.Fatal("no delivery was accepted")
	}
	t.Logf("%d of %d deliveries accepted before the gateway stopped; %d notified before the restart",
		want, senders*perSender, strings.Count(first.stdout.String(), "Sigterm issue"))

	second := startProc(t, "ghnotify run (after SIGTERM)", bin, env, "run")
	base = "http://" + second.httpAddr(t)
	natsAddr := second.natsAddr(t)
	waitHealthy(t, base, 30*time.Second)
	count := func(title string) int {
		needle := fmt.Sprintf("%q", title)
		return strings.Count(first.stdout.String(), needle) + strings.Count(second.stdout.String(), needle)
	}
	natstest.WaitFor(t, 45*time.Second, "a notification for every accepted delivery", func() bool {
		for title := range accepted {
			if count(title) == 0 {
				return false
			}
		}
		return true
	})

	// Everything was delivered: nothing left pending, nothing dead-lettered,
	// and the events stream holds one event per stored delivery. (An ack the
	// server had not processed when it stopped would leave a message
	// ack-pending until its AckWait; that redelivery is harmless, the sink
	// posts nothing twice, so ack-pending counts are not asserted.)
	ctx := context.Background()
	key, err := nats.NkeyOptionFromSeed(NATSKeyFilePath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Connect(t, "nats://"+natsAddr, key)
	natstest.WaitFor(t, 30*time.Second, "both consumers to have delivered everything", func() bool {
		for _, c := range []struct{ stream, name string }{
			{provision.StreamRaw, provision.ConsumerNormalizer},
			{provision.StreamEvents, provision.ConsumerSlackSink},
		} {
			cons, err := js.Consumer(ctx, c.stream, c.name)
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			if err != nil || info.NumPending != 0 {
				return false
			}
		}
		return true
	})
	raw, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(ctx, provision.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if r, e := raw.CachedInfo().State.Msgs, events.CachedInfo().State.Msgs; r != e || r < uint64(want) {
		t.Errorf("raw stream holds %d deliveries and events stream %d events, want equal and at least the %d accepted", r, e, want)
	}
	dlq, err := js.Stream(ctx, provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if n := dlq.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("%d messages were dead-lettered, want none", n)
	}
	second.stop(t, 60*time.Second)

	for title := range accepted {
		if n := count(title); n != 1 {
			t.Errorf("%q was notified %d times, want exactly once", title, n)
		}
	}
	// A delivery that got no answer may or may not have been stored, but
	// never twice.
	for s := range senders {
		for i := range perSender {
			if n := count(fmt.Sprintf("Sigterm issue %d-%d", s, i)); n > 1 {
				t.Errorf("delivery %d-%d was notified %d times", s, i, n)
			}
		}
	}
}

// httpStatus GETs url and returns the status, or 0 when nothing answered.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// httpBody GETs url and returns its body, failing the test on any error.
func httpBody(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
