package sink

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// logBuffer collects a sink's log lines for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count returns how many log lines hold s.
func (b *logBuffer) count(s string) int { return strings.Count(b.String(), s) }

// startLoggedSink runs the sink with a logger writing to the returned buffer.
func startLoggedSink(t *testing.T, cfg Config, nc *nats.Conn) (*logBuffer, func()) {
	t.Helper()
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, nc, zerolog.New(logs).Level(zerolog.DebugLevel)) }()
	return logs, func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func reloadRoutes(to string) string {
	return fmt.Sprintf(`
destinations:
  old: {webhook: "${SLACK}/old"}
  new: {webhook: "${SLACK}/new"}
routes:
  - {name: all, match: {kind: "issues.*"}, to: %s}
`, to)
}

// invalidReloadRoutes names an undefined destination.
const invalidReloadRoutes = `
destinations:
  old: {webhook: "${SLACK}/old"}
routes:
  - {name: all, match: {kind: "issues.*"}, to: nowhere}
`

const (
	armedMsg   = `"message":"routes reload on SIGHUP armed"`
	reloadMsg  = `"message":"routes reloaded"`
	keptMsg    = `"message":"routes file invalid; keeping the previous rules"`
	sighupMsg  = `"trigger":"SIGHUP"`
	changedMsg = `"trigger":"file changed"`
)

// TestReloadOnFileChange changes the routes file under a running sink: a
// valid change takes effect, an invalid one leaves the rules as they were.
func TestReloadOnFileChange(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	file := writeRoutes(t, reloadRoutes("old"))
	cfg := testConfig(file, url)
	cfg.WatchRoutes = true
	logs, stop := startLoggedSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 10*time.Second, "the routes watcher", func() bool { return logs.count(armedMsg) > 0 })

	publish(t, ns.JS, testEvent("r", 1), "r1")
	natstest.WaitFor(t, 10*time.Second, "event-1 at old", func() bool { return len(fake.got("/old")) == 1 })

	if err := os.WriteFile(file, []byte(reloadRoutes("new")), 0o600); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the reload", func() bool { return logs.count(changedMsg) > 0 && logs.count(reloadMsg) > 0 })
	publish(t, ns.JS, testEvent("r", 2), "r2")
	natstest.WaitFor(t, 10*time.Second, "event-2 at new", func() bool { return len(fake.got("/new")) == 1 })

	kept := logs.count(keptMsg)
	if err := os.WriteFile(file, []byte(invalidReloadRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the rejected reload", func() bool { return logs.count(keptMsg) > kept })
	publish(t, ns.JS, testEvent("r", 3), "r3")
	natstest.WaitFor(t, 10*time.Second, "event-3 at new", func() bool { return len(fake.got("/new")) == 2 })

	if got := strings.Join(fake.got("/old"), ","); got != "event-1" {
		t.Errorf("old received %s, want event-1 only", got)
	}
	if got := strings.Join(fake.got("/new"), ","); got != "event-2,event-3" {
		t.Errorf("new received %s, want event-2,event-3", got)
	}
	if !strings.Contains(logs.String(), `destination \"nowhere\" is not defined`) {
		t.Errorf("the rejected reload does not say why:\n%s", logs)
	}
	if strings.Contains(logs.String(), url) {
		t.Errorf("the log shows a webhook URL:\n%s", logs)
	}
}

// TestReloadOnSIGHUP reloads with SIGHUP alone (file watching off).
func TestReloadOnSIGHUP(t *testing.T) {
	// Registering here too keeps a SIGHUP from ending the test binary.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	file := writeRoutes(t, reloadRoutes("old"))
	cfg := testConfig(file, url)
	cfg.WatchRoutes = false
	logs, stop := startLoggedSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 10*time.Second, "the SIGHUP handler", func() bool { return logs.count(armedMsg) > 0 })

	// Without SIGHUP an invalid file changes nothing.
	if err := os.WriteFile(file, []byte(invalidReloadRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the rejected reload", func() bool { return logs.count(keptMsg) == 1 })
	publish(t, ns.JS, testEvent("h", 1), "h1")
	natstest.WaitFor(t, 10*time.Second, "event-1 at old", func() bool { return len(fake.got("/old")) == 1 })

	if err := os.WriteFile(file, []byte(reloadRoutes("new")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the reload", func() bool { return logs.count(reloadMsg) == 1 })
	publish(t, ns.JS, testEvent("h", 2), "h2")
	natstest.WaitFor(t, 10*time.Second, "event-2 at new", func() bool { return len(fake.got("/new")) == 1 })
	if got := strings.Join(fake.got("/old"), ","); got != "event-1" {
		t.Errorf("old received %s, want event-1 only", got)
	}
	if logs.count(sighupMsg) != 2 || logs.count(changedMsg) != 0 {
		t.Errorf("want two SIGHUP reloads and no file-change reload:\n%s", logs)
	}
}

// TestRunRefusesAnInvalidRoutesFile checks that the sink does not start
// with an invalid routes file, and says where the problem is.
func TestRunRefusesAnInvalidRoutesFile(t *testing.T) {
	ns := natstest.Start(t)
	tests := []struct{ name, src, want string }{
		{"undefined destination", invalidReloadRoutes, `routes.yaml:5:48: route "all": destination "nowhere" is not defined`},
		{"unknown key", "destinations:\n  d: {console: true}\nroutes:\n  - {name: a, to: d, mach: {}}\n", `routes.yaml:4:22: route: unknown key "mach"`},
		{"bad glob", "destinations:\n  d: {console: true}\nroutes:\n  - {name: a, to: d, match: {repo: \"[\"}}\n", `routes.yaml:4:`},
		{"bad expression", "destinations:\n  d: {console: true}\nroutes:\n  - {name: a, to: d, match: {expr: \"kind ==\"}}\n", `routes.yaml:4:`},
		{"unset variable", "destinations:\n  d: {webhook: \"${UNSET_HOOK}\"}\ndefault: d\n", `routes.yaml:2:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(writeRoutes(t, tc.src), "https://hooks.example/services/T/B/secret-in-url")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Run(ctx, cfg, ns.NC, zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-in-url") {
				t.Errorf("error shows the webhook URL: %v", err)
			}
		})
	}
	if _, err := ns.JS.Consumer(context.Background(), "GHNOTIFY_EVENTS", "slack-sink"); err == nil {
		t.Error("a sink that refused to start created its consumer")
	}
}
