package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/normalizer"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/rs/zerolog"
)

// alertsHook is a Slack incoming webhook standing in for the "alerts"
// destination: while broken it answers 404 no_service, which
// dead-letters the event for that destination.
type alertsHook struct {
	mu     sync.Mutex
	broken bool
	posts  [][]byte
}

func (a *alertsHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.broken {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	a.posts = append(a.posts, b)
	_, _ = io.WriteString(w, "ok")
}

func (a *alertsHook) setBroken(b bool) { a.mu.Lock(); a.broken = b; a.mu.Unlock() }

func (a *alertsHook) count() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.posts) }

// consoleStack is `ghnotify run` in process, as a newcomer runs it (no
// Slack: every event goes to the console destination, and so to the
// inbox), plus an "alerts" webhook that issues also go to.
type consoleStack struct {
	gateway, ops string
	secret       string
	alerts       *alertsHook
}

const consoleRoutes = `destinations:
  console:
    console: true
  alerts:
    webhook: ${ALERTS_WEBHOOK}
routes:
  - name: issues
    match:
      kind: "issues.*"
    to: [console, alerts]
default: console
`

func startConsoleStack(t *testing.T) *consoleStack {
	t.Helper()
	s := &consoleStack{secret: "console-webhook-secret", alerts: &alertsHook{broken: true}}
	hook := newLocalServer(t, s.alerts)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(file, []byte(consoleRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	env := config.NewEnv(envOf(map[string]string{
		"GITHUB_WEBHOOK_SECRET": s.secret,
		"GHNOTIFY_ROUTES":       file,
		"ALERTS_WEBHOOK":        hook + "/services/T0/B0/alerts",
		"GHNOTIFY_OPS_ADDR":     "127.0.0.1:0",
	}))
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
	gln := listen(t)
	oln := listen(t)
	cfg.Gateway.Listener = gln
	// As runCommand does: one operations address, served by the gateway.
	cfg.Ops = ops.Config{Listener: oln}
	cfg.Gateway.Ops = cfg.Ops
	cfg.Normalizer.Ops, cfg.Sink.Ops = ops.Config{}, ops.Config{}
	logs := &syncBuffer{}
	dumpOnFailure(t, "stack log", logs)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- runStack(ctx, cfg, zerolog.New(logs)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("stack stopped with %v", err)
		}
	})
	s.gateway = "http://" + gln.Addr().String()
	s.ops = "http://" + oln.Addr().String()
	waitHealthy(t, s.gateway, 30*time.Second)
	natstest.WaitFor(t, 30*time.Second, "the console", func() bool {
		resp, err := http.Get(s.ops + "/console/routes")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Contains(string(b), "routes.yaml")
	})
	return s
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func newLocalServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln := listen(t)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// page GETs a console page.
func page(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConsoleOnTheOperationsAddressOnly runs the stack, sends a delivery,
// follows it through the console, redrives its dead letter once the
// destination is fixed, and checks that the webhook port serves none of it.
func TestConsoleOnTheOperationsAddressOnly(t *testing.T) {
	s := startConsoleStack(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	const id = "console-delivery-1"
	if code := postDelivery(t, s.gateway, s.secret, "issues", id, issuePayload(42, "Launch <b>countdown</b> skips")); code/100 != 2 {
		t.Fatalf("gateway answered %d", code)
	}
	natstest.WaitFor(t, 30*time.Second, "the delivery posted to the console and dead-lettered for alerts", func() bool {
		_, body := page(t, c, s.ops+"/console/deliveries")
		return strings.Contains(body, id) && strings.Contains(body, "posted console") && strings.Contains(body, "dead-lettered alerts")
	})
	code, body := page(t, c, s.ops+"/console/deliveries/"+id)
	for _, want := range []string{"stored raw #", "posted issues.opened to console", "Launch &lt;b&gt;countdown&lt;/b&gt; skips", `class="bk-header"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("delivery page (%d) lacks %q:\n%s", code, want, body)
		}
	}
	if _, body := page(t, c, s.ops+"/console/inbox"); !strings.Contains(body, "Launch &lt;b&gt;countdown&lt;/b&gt; skips") {
		t.Fatalf("the inbox lacks the message:\n%s", body)
	}

	// Nothing of the console on the webhook port.
	for _, p := range []string{"/console/", "/console/deliveries", "/console/dead-letters", "/console/static/console.js", "/"} {
		if code, _ := page(t, c, s.gateway+p); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("webhook port GET %s = %d, want 404", p, code)
		}
	}
	resp, err := c.PostForm(s.gateway+"/console/dead-letters/redrive", url.Values{"all": {"yes"}, "confirm": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("webhook port POST redrive = %d, want 404", resp.StatusCode)
	}

	// Fix the destination, then redrive its dead letter: posted once.
	s.alerts.setBroken(false)
	_, dl := page(t, c, s.ops+"/console/dead-letters")
	_, rest, ok := strings.Cut(dl, `name="csrf" value="`)
	if !ok || !strings.Contains(dl, "no_service") {
		t.Fatalf("dead letters page:\n%s", dl)
	}
	csrf, _, _ := strings.Cut(rest, `"`)
	resp, err = c.PostForm(s.ops+"/console/dead-letters/redrive", url.Values{"all": {"yes"}, "confirm": {"yes"}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Redrove 1 dead letter(s)") {
		t.Fatalf("redrive: %d\n%s", resp.StatusCode, b)
	}
	natstest.WaitFor(t, 30*time.Second, "the redriven post to alerts", func() bool { return s.alerts.count() == 1 })
	natstest.WaitFor(t, 30*time.Second, "the redrive in the timeline", func() bool {
		_, body := page(t, c, s.ops+"/console/deliveries/"+id)
		return strings.Contains(body, "posted issues.opened to alerts (route issues, replay redrive-")
	})
	if n := s.alerts.count(); n != 1 {
		t.Fatalf("alerts got %d posts, want 1", n)
	}
}
