package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// testGateway is a gateway running on a loopback port.
type testGateway struct {
	url string
	// opsURL serves the operations endpoints (/metrics).
	opsURL string
	stop   func() error
}

// startGateway runs the gateway on nc until the test ends or stop is called.
func startGateway(t *testing.T, nc *nats.Conn, mutate func(*Config)) *testGateway {
	t.Helper()
	return startGatewayLogged(t, nc, zerolog.Nop(), mutate)
}

// startGatewayLogged is startGateway logging to log.
func startGatewayLogged(t *testing.T, nc *nats.Conn, log zerolog.Logger, mutate func(*Config)) *testGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Listener:        ln,
		Ops:             ops.Config{Listener: opsLn},
		Secrets:         []config.Secret{testSecret},
		DedupeBodies:    true,
		PublishTimeout:  2 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	listening := make(chan net.Addr, 1)
	cfg.OnListen = func(a net.Addr) { listening <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, nc, log) }()
	var stopped atomic.Bool
	stop := func() error {
		if stopped.Swap(true) {
			return nil
		}
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case a := <-listening:
		return &testGateway{url: "http://" + a.String(), opsURL: "http://" + opsLn.Addr().String(), stop: stop}
	case err := <-done:
		t.Fatalf("gateway stopped at start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not start listening")
	}
	return nil
}

type delivered struct {
	status int
	resp   response
	header http.Header
}

func (g *testGateway) post(t *testing.T, event, id, contentType string, body []byte) delivered {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+WebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(headerEvent, event)
	req.Header.Set(headerDelivery, id)
	req.Header.Set(headerHookID, "99")
	req.Header.Set(headerTargetType, "repository")
	req.Header.Set(headerTargetID, "4242")
	req.Header.Set(headerSignature256, Sign(testSecret, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting %s: %v", id, err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("decoding answer to %s: %v", id, err)
	}
	return delivered{status: res.StatusCode, resp: r, header: res.Header}
}

func (g *testGateway) get(t *testing.T, path string) int {
	t.Helper()
	res, err := http.Get(g.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// rawMessages reads every message of the raw stream, by delivery id.
func rawMessages(t *testing.T, js jetstream.JetStream) map[string][]jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]jetstream.Msg{}
	if info.State.Msgs == 0 {
		return out
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("reading raw stream: %v", err)
		}
		id := m.Headers().Get(delivery.HeaderDelivery)
		out[id] = append(out[id], m)
	}
	return out
}

// samplePayload is a GitHub payload to send in a test.
type samplePayload struct {
	event, name string
	body        []byte
}

// samplePayloads returns the repository's own fixtures (the normalizer's,
// one or more for every event kind) and, when present, every payload of
// the corpus.
func samplePayloads(t *testing.T) []samplePayload {
	t.Helper()
	dir := filepath.Join(corpus.RepoRoot(t), "services", "normalizer", "normalize", "testdata", "fixtures")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	var out []samplePayload
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		event, _, _ := strings.Cut(filepath.Base(f), ".")
		out = append(out, samplePayload{event, f, body})
	}
	var cdir string
	if t.Run("locate corpus", func(t *testing.T) { cdir = corpus.Dir(t) }) && cdir != "" {
		for _, e := range corpus.Entries(t, cdir) {
			body, err := os.ReadFile(filepath.Join(cdir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, samplePayload{e.Event, e.File, body})
		}
	}
	return out
}

func TestPayloadsStoredExactly(t *testing.T) {
	t.Parallel()
	samples := samplePayloads(t)
	ns := natstest.Start(t)
	// The JSON and the form copy of one payload are the same body; body
	// dedupe is off so that both are stored and compared.
	g := startGateway(t, ns.NC, func(c *Config) { c.DedupeBodies = false })

	want, sentBodies := map[string][]byte{}, map[string][]byte{}
	events := map[string]string{}
	for i, sp := range samples {
		body := sp.body
		for _, variant := range []string{"json", "form"} {
			id := fmt.Sprintf("%s-%d", variant, i)
			ct, sent := "application/json", body
			if variant == "form" {
				ct, sent = "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(body)))
			}
			if d := g.post(t, sp.event, id, ct, sent); d.status != http.StatusAccepted {
				t.Fatalf("%s (%s): status %d %+v", sp.name, variant, d.status, d.resp)
			}
			want[id], sentBodies[id], events[id] = body, sent, sp.event
		}
	}
	got := rawMessages(t, ns.JS)
	if len(got) != len(want) {
		t.Fatalf("stream holds %d deliveries, want %d", len(got), len(want))
	}
	for id, body := range want {
		msgs := got[id]
		if len(msgs) != 1 {
			t.Fatalf("%s stored %d times", id, len(msgs))
		}
		m := msgs[0]
		if !bytes.Equal(m.Data(), body) {
			t.Fatalf("%s: stored body differs from the payload sent", id)
		}
		d, err := delivery.FromMsg(m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if d.Event != events[id] || d.HookID != "99" || d.TargetType != "repository" || d.TargetID != "4242" ||
			d.BodyKey != bodyKeyHex(testSecret, sentBodies[id]) || d.SHA256 != "" || d.ReceivedAt.IsZero() || m.Headers().Get(jetstream.MsgIDHeader) != id {
			t.Fatalf("%s: headers %+v", id, m.Headers())
		}
		if m.Subject() != "github.raw."+events[id] {
			t.Fatalf("%s: subject %s", id, m.Subject())
		}
	}
}

func TestDuplicatesStoredOnce(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	body := []byte(`{"action":"opened","issue":{"number":7,"title":"dup"}}`)
	other := []byte(`{"action":"closed","issue":{"number":7,"title":"dup"}}`)

	steps := []struct {
		id     string
		body   []byte
		status int
		reason string
	}{
		{"first", body, http.StatusAccepted, ""},
		{"first", body, http.StatusOK, ReasonDeliveryID},
		{"first", other, http.StatusOK, ReasonDeliveryID},
		{"replayed", body, http.StatusOK, ReasonBody},
		{"second", other, http.StatusAccepted, ""},
	}
	for i, s := range steps {
		d := g.post(t, "issues", s.id, "application/json", s.body)
		if d.status != s.status || d.resp.Reason != s.reason {
			t.Fatalf("step %d (%s): %d %+v, want %d %q", i, s.id, d.status, d.resp, s.status, s.reason)
		}
		if s.status == http.StatusOK && d.resp.Status != "duplicate" {
			t.Fatalf("step %d: status field %q", i, d.resp.Status)
		}
	}
	got := rawMessages(t, ns.JS)
	if len(got) != 2 || len(got["first"]) != 1 || len(got["second"]) != 1 || !bytes.Equal(got["first"][0].Data(), body) {
		t.Fatalf("stored %v", keysOf(got))
	}

	store := trace.NewStore(ns.JS)
	// Only duplicates get a gateway trace record: the raw message is the
	// record of a stored delivery.
	natstest.WaitFor(t, 10*time.Second, "trace records of the duplicates", func() bool {
		first, err1 := store.List(context.Background(), "first")
		replayed, err2 := store.List(context.Background(), "replayed")
		return err1 == nil && err2 == nil && len(first) == 1 && len(replayed) == 1
	})
	for id, reason := range map[string]string{"first": ReasonDeliveryID, "replayed": ReasonBody} {
		recs, err := store.List(context.Background(), id)
		if err != nil || len(recs) != 1 {
			t.Fatalf("trace of %s: %v, %v", id, recs, err)
		}
		if r := recs[0]; r.Stage != trace.StageGateway || r.Outcome != trace.OutcomeDuplicate || r.Reason != reason {
			t.Fatalf("trace of %s = %+v", id, r)
		}
	}
	if recs, err := store.List(context.Background(), "second"); err != nil || len(recs) != 0 {
		t.Fatalf("trace of a stored delivery: %v, %v; want none from the gateway", recs, err)
	}
}

func keysOf(m map[string][]jetstream.Msg) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, len(v)))
	}
	return out
}

func TestConcurrentIdenticalDeliveriesStoredOnce(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	body := []byte(`{"action":"opened","number":1}`)
	const n = 16
	statuses := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, g.url+WebhookPath, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(headerEvent, "issues")
			req.Header.Set(headerDelivery, "racing")
			req.Header.Set(headerSignature256, Sign(testSecret, body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	accepted := 0
	for range n {
		switch s := <-statuses; s {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if got := rawMessages(t, ns.JS); len(got["racing"]) != 1 || accepted != 1 {
		t.Fatalf("stored %d times, %d answered 202; want 1 and 1", len(got["racing"]), accepted)
	}
}

func TestNATSOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, func(c *Config) { c.PublishTimeout = time.Second })
	body := func(n int) []byte { return []byte(fmt.Sprintf(`{"n":%d}`, n)) }
	if d := g.post(t, "push", "before", "application/json", body(1)); d.status != http.StatusAccepted {
		t.Fatalf("before outage: %d", d.status)
	}
	if s := g.get(t, "/readyz"); s != http.StatusOK {
		t.Fatalf("readyz before outage: %d", s)
	}

	ns.Stop()
	natstest.WaitFor(t, 10*time.Second, "client to notice the outage", func() bool { return !ns.NC.IsConnected() })
	d := g.post(t, "push", "during", "application/json", body(2))
	if d.status != http.StatusServiceUnavailable || d.header.Get("Retry-After") == "" {
		t.Fatalf("during outage: %d %v", d.status, d.header)
	}
	if s := g.get(t, "/readyz"); s != http.StatusServiceUnavailable {
		t.Fatalf("readyz during outage: %d", s)
	}
	if s := g.get(t, "/healthz"); s != http.StatusOK {
		t.Fatalf("healthz during outage: %d", s)
	}

	ns.Restart(t)
	natstest.WaitFor(t, 30*time.Second, "gateway to be ready again", func() bool { return g.get(t, "/readyz") == http.StatusOK })
	if d := g.post(t, "push", "during", "application/json", body(2)); d.status != http.StatusAccepted {
		t.Fatalf("retry after outage: %d %+v", d.status, d.resp)
	}
	if d := g.post(t, "push", "after", "application/json", body(3)); d.status != http.StatusAccepted {
		t.Fatalf("after outage: %d %+v", d.status, d.resp)
	}
	got := rawMessages(t, ns.JS)
	if len(got) != 3 || len(got["during"]) != 1 {
		t.Fatalf("stored %v", keysOf(got))
	}
}

func TestDedupeSurvivesFullRestart(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	body := []byte(`{"action":"created","comment":{"id":1}}`)
	g := startGateway(t, ns.NC, nil)
	if d := g.post(t, "issue_comment", "kept", "application/json", body); d.status != http.StatusAccepted {
		t.Fatalf("first: %d", d.status)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("stopping gateway: %v", err)
	}
	ns.NC.Close()

	ns.Restart(t)
	nc, js := natstest.Connect(t, ns.Srv.ClientURL())
	// The new gateway rebuilds its index from the raw stream; requests made
	// at once wait for it. The body replay under a new id proves the index,
	// not only the stream's duplicate window, holds the delivery.
	g2 := startGateway(t, nc, nil)
	if d := g2.post(t, "issue_comment", "kept", "application/json", body); d.status != http.StatusOK || d.resp.Reason != ReasonDeliveryID {
		t.Fatalf("redelivery after restart: %d %+v", d.status, d.resp)
	}
	if d := g2.post(t, "issue_comment", "new-id", "application/json", body); d.status != http.StatusOK || d.resp.Reason != ReasonBody {
		t.Fatalf("replay after restart: %d %+v", d.status, d.resp)
	}
	if got := rawMessages(t, js); len(got) != 1 {
		t.Fatalf("stored %v", keysOf(got))
	}
}

func TestLargeBodyOffloaded(t *testing.T) {
	t.Parallel()
	opts := natstest.Options(t.TempDir())
	opts.MaxPayload = 256 << 10
	srv := startServer(t, opts)
	nc, js := natstest.Connect(t, srv)
	g := startGateway(t, nc, nil)
	body := []byte(`{"commits":"` + strings.Repeat("c", 1<<20) + `"}`)
	if d := g.post(t, "push", "big", "application/json", body); d.status != http.StatusAccepted {
		t.Fatalf("large body: %d %+v", d.status, d.resp)
	}
	got := rawMessages(t, js)
	m := got["big"][0]
	if m.Headers().Get(rawbody.HeaderRef) == "" || len(m.Data()) != 0 {
		t.Fatalf("large body not offloaded: %v, %d bytes inline", m.Headers(), len(m.Data()))
	}
	loaded, err := rawbody.Load(context.Background(), js, m.Headers(), m.Data())
	if err != nil || !bytes.Equal(loaded, body) {
		t.Fatalf("loading offloaded body: %v (equal=%v)", err, bytes.Equal(loaded, body))
	}
}

// TestSlowClientCutOff sends a request one byte a second: the server's
// timeouts close it, and another request completes while it is still open.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, func(c *Config) {
		// Short enough to keep the test quick, long enough for the fast
		// request to finish well within it on a loaded machine.
		c.ReadHeaderTimeout = time.Second
		c.ReadTimeout = time.Second
	})
	addr := strings.TrimPrefix(g.url, "http://")
	for _, slowPart := range []string{"headers", "body"} {
		t.Run(slowPart, func(t *testing.T) {
			body := `{"zen":"slow"}`
			head := "POST " + WebhookPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
				headerEvent + ": ping\r\n" + headerDelivery + ": slow-" + slowPart + "\r\n" +
				headerSignature256 + ": " + Sign(testSecret, []byte(body)) + "\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
			fast, slow := "", head+body
			if slowPart == "body" {
				fast, slow = head, body
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, fast+slow[:1]); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			go func() {
				// The server closing the connection ends this read; the
				// server never answers a request it did not receive.
				_, _ = bufio.NewReader(conn).ReadString('\n')
				close(closed)
			}()
			go func() {
				// One byte every 200ms: the client never goes quiet for
				// a whole timeout, and is cut off all the same.
				tick := time.NewTicker(200 * time.Millisecond)
				defer tick.Stop()
				for i := 1; i < len(slow); i++ {
					select {
					case <-closed:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{slow[i]}); err != nil {
						return
					}
				}
			}()

			if d := g.post(t, "ping", "fast-"+slowPart, "application/json", []byte(`{"zen":"fast `+slowPart+`"}`)); d.status != http.StatusAccepted {
				t.Fatalf("fast request while a slow one is open: %d", d.status)
			}
			select {
			case <-closed:
				t.Fatal("the slow connection was closed before the fast request finished; the test proves nothing")
			default:
			}
			natstest.WaitFor(t, 20*time.Second, "the server to cut the slow client off", func() bool {
				select {
				case <-closed:
					return true
				default:
					return false
				}
			})
			if got := rawMessages(t, ns.JS); len(got["slow-"+slowPart]) != 0 {
				t.Fatal("the slow request was stored")
			}
		})
	}
}

// TestTwoGatewaysShareDedupe runs two gateways on one NATS server: each
// sees the deliveries the other stored, whether they were stored before it
// started (replayed from the raw stream) or while it runs (followed).
func TestTwoGatewaysShareDedupe(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	nc1, js := natstest.Connect(t, ns.Srv.ClientURL())
	g1 := startGateway(t, nc1, nil)
	before := []byte(`{"action":"opened","issue":{"number":1}}`)
	if d := g1.post(t, "issues", "before", "application/json", before); d.status != http.StatusAccepted {
		t.Fatalf("first gateway: %d %+v", d.status, d.resp)
	}

	nc2, _ := natstest.Connect(t, ns.Srv.ClientURL())
	g2 := startGateway(t, nc2, nil)
	if d := g2.post(t, "issues", "before-replayed", "application/json", before); d.status != http.StatusOK || d.resp.Reason != ReasonBody {
		t.Fatalf("second gateway, body stored by the first before it started: %d %+v", d.status, d.resp)
	}

	during := []byte(`{"action":"opened","issue":{"number":2}}`)
	if d := g1.post(t, "issues", "during", "application/json", during); d.status != http.StatusAccepted {
		t.Fatalf("first gateway: %d %+v", d.status, d.resp)
	}
	meta, err := rawMessages(t, js)["during"][0].Metadata()
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the second gateway to index the new delivery", func() bool {
		return g2.metric(t, "ghnotify_gateway_dedupe_index_sequence") >= float64(meta.Sequence.Stream)
	})
	if d := g2.post(t, "issues", "during-replayed", "application/json", during); d.status != http.StatusOK || d.resp.Reason != ReasonBody {
		t.Fatalf("second gateway, body stored by the first while it runs: %d %+v", d.status, d.resp)
	}
	// And the other way round.
	third := []byte(`{"action":"opened","issue":{"number":3}}`)
	if d := g2.post(t, "issues", "from-second", "application/json", third); d.status != http.StatusAccepted {
		t.Fatalf("second gateway: %d %+v", d.status, d.resp)
	}
	meta, err = rawMessages(t, js)["from-second"][0].Metadata()
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the first gateway to index the second's delivery", func() bool {
		return g1.metric(t, "ghnotify_gateway_dedupe_index_sequence") >= float64(meta.Sequence.Stream)
	})
	if d := g1.post(t, "issues", "from-second-replayed", "application/json", third); d.status != http.StatusOK || d.resp.Reason != ReasonBody {
		t.Fatalf("first gateway, body stored by the second: %d %+v", d.status, d.resp)
	}
	got := rawMessages(t, js)
	if len(got) != 3 || len(got["before"]) != 1 || len(got["during"]) != 1 || len(got["from-second"]) != 1 {
		t.Fatalf("stored %v", keysOf(got))
	}
}

// metric reads one unlabelled metric from the gateway's /metrics.
func (g *testGateway) metric(t *testing.T, name string) float64 {
	t.Helper()
	res, err := http.Get(g.opsURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not in /metrics", name)
	return 0
}

func TestRunRefusesHorizonBeyondRawRetention(t *testing.T) {
	t.Parallel()
	cfg := Config{Secrets: []config.Secret{testSecret}, Provision: provision.Config{RawMaxAge: 24 * time.Hour, DedupeHorizon: 72 * time.Hour}}
	// No NATS connection is needed: the configuration is refused first.
	err := Run(context.Background(), cfg, nil, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "GHNOTIFY_DEDUPE_HORIZON") || !strings.Contains(err.Error(), "GHNOTIFY_RAW_MAX_AGE") {
		t.Fatalf("Run = %v, want the horizon refused", err)
	}
}

// TestStoredMessageHeaders checks every header stored with a raw message,
// read by its literal name, for a JSON and a form-encoded delivery (the
// latter stored as its JSON payload), without depending on the payload
// corpus.
func TestStoredMessageHeaders(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	payload := []byte(`{"action":"labeled","label":{"name":"bug"}}`)
	sent := map[string][]byte{
		"hdr-json": payload,
		"hdr-form": []byte("payload=" + url.QueryEscape(`{"action":"unlabeled","label":{"name":"bug"}}`)),
	}
	stored := map[string]string{
		"hdr-json": string(payload),
		"hdr-form": `{"action":"unlabeled","label":{"name":"bug"}}`,
	}
	before := time.Now().UTC().Truncate(time.Second)
	for id, body := range sent {
		ct := "application/json"
		if id == "hdr-form" {
			ct = "application/x-www-form-urlencoded"
		}
		if d := g.post(t, "label", id, ct, body); d.status != http.StatusAccepted {
			t.Fatalf("%s: %d %+v", id, d.status, d.resp)
		}
	}
	after := time.Now().UTC()
	got := rawMessages(t, ns.JS)
	for id, want := range stored {
		if len(got[id]) != 1 {
			t.Fatalf("%s stored %d times", id, len(got[id]))
		}
		m := got[id][0]
		if string(m.Data()) != want {
			t.Fatalf("%s: stored %q, want %q", id, m.Data(), want)
		}
		if m.Subject() != "github.raw.label" {
			t.Fatalf("%s: subject %s", id, m.Subject())
		}
		h := m.Headers()
		for name, v := range map[string]string{
			"Nats-Msg-Id":                            id,
			"X-GitHub-Event":                         "label",
			"X-GitHub-Delivery":                      id,
			"X-GitHub-Hook-ID":                       "99",
			"X-GitHub-Hook-Installation-Target-Type": "repository",
			"X-GitHub-Hook-Installation-Target-ID":   "4242",
			"Ghnotify-Body-Key":                      bodyKeyHex(testSecret, sent[id]),
			"Ghnotify-Content-Sha256":                "",
		} {
			if got := h.Get(name); got != v {
				t.Errorf("%s: header %s = %q, want %q", id, name, got, v)
			}
		}
		at, err := time.Parse(time.RFC3339Nano, h.Get("Ghnotify-Received-At"))
		if err != nil {
			t.Fatalf("%s: Ghnotify-Received-At %q: %v", id, h.Get("Ghnotify-Received-At"), err)
		}
		if at.Before(before) || at.After(after) {
			t.Errorf("%s: received at %s, not between sending (%s) and the answer (%s)", id, at, before, after)
		}
	}
}

// TestReadyzNeedsRawStream checks that /readyz turns 503 when NATS is
// connected but the raw stream cannot be reached.
func TestReadyzNeedsRawStream(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	g := startGateway(t, ns.NC, nil)
	natstest.WaitFor(t, 10*time.Second, "readyz to be 200", func() bool { return g.get(t, "/readyz") == http.StatusOK })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ns.JS.DeleteStream(ctx, provision.StreamRaw); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "readyz to be 503 without the raw stream", func() bool {
		return g.get(t, "/readyz") == http.StatusServiceUnavailable
	})
	if !ns.NC.IsConnected() {
		t.Fatal("nats disconnected: the test would not prove the stream check")
	}
}
