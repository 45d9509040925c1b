package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

// syncBuffer is an io.Writer safe for a child process and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p under the lock.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// dumpOnFailure prints a captured output when the test fails.
func dumpOnFailure(t testing.TB, name string, b *syncBuffer) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s:\n%s", name, b.String())
		}
	})
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds ghnotify and the three service binaries once per test
// process and returns the directory holding them. Tests that need them skip
// under -short.
func binaries(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the binaries with")
	}
	root := corpus.RepoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ghnotify-bin-")
		if buildErr != nil {
			return
		}
		for name, pkg := range map[string]string{
			"ghnotify":   "./cmd/ghnotify",
			"gateway":    "./services/gateway/cmd/gateway",
			"normalizer": "./services/normalizer/cmd/normalizer",
			"slack-sink": "./services/slack-sink/cmd/slack-sink",
		} {
			cmd := exec.Command(goBin, "build", "-o", filepath.Join(buildDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{pkg: pkg, out: string(out), err: err}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building binaries: %v", buildErr)
	}
	return buildDir
}

// buildError is a failed go build of one of the binaries, with its output.
type buildError struct {
	pkg, out string
	err      error
}

// Error returns the package, the error and the compiler output.
func (e *buildError) Error() string { return e.pkg + ": " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// childEnv is the test process's environment without any ghnotify, GitHub,
// Slack or NATS settings, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GHNOTIFY_") || strings.HasPrefix(kv, "GITHUB_") ||
			strings.HasPrefix(kv, "SLACK_") || strings.HasPrefix(kv, "NATS_") {
			continue
		}
		env = append(env, kv)
	}
	// Operations endpoints are off unless a test gives them an address
	// (a later value of a variable wins), so that children never clash on
	// the default ports.
	env = append(env, "GHNOTIFY_OPS_ADDR=off")
	return append(env, extra...)
}

// proc is a child process whose output the test watches.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// startProc starts bin with args and env; it is killed when the test ends
// if it is still running.
func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	dumpOnFailure(t, name+" stdout", p.stdout)
	dumpOnFailure(t, name+" stderr", p.stderr)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit within deadline.
func (p *proc) stop(t *testing.T, deadline time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signalling %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(deadline):
		t.Fatalf("%s did not stop within %s of SIGTERM", p.name, deadline)
	}
	if p.err != nil {
		t.Fatalf("%s exited with %v after SIGTERM, want a clean exit", p.name, p.err)
	}
}

// freePort returns a port that was free a moment ago. Only for a server
// that must be named before it exists (services started before NATS);
// everything else listens on port 0 and is asked for its address (see
// proc.logged).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// logged waits for p to log, as a JSON line on stderr, message msg with a
// string field named field, and returns the field's value: how a test
// learns the address a child bound on port 0.
func (p *proc) logged(t *testing.T, msg, field string) string {
	t.Helper()
	var value string
	natstest.WaitFor(t, 30*time.Second, p.name+" to log "+strconv.Quote(msg)+" with "+field, func() bool {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil || m["message"] != msg {
				continue
			}
			if v, ok := m[field].(string); ok && v != "" {
				value = v
				return true
			}
		}
		return false
	})
	return value
}

// httpAddr is the webhook address a `ghnotify run` child listens on.
func (p *proc) httpAddr(t *testing.T) string {
	t.Helper()
	return p.logged(t, "gateway listening", "addr")
}

// natsAddr is the host:port of a `ghnotify run` child's NATS listener.
func (p *proc) natsAddr(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(p.logged(t, embeddedStartedMsg, "client_url"), "nats://")
}

// opsListeningMsg is what a service logs once its operations endpoints listen.
const opsListeningMsg = "operations endpoints listening (/metrics, /healthz, /readyz)"

// embeddedStartedMsg is what `ghnotify run` logs once its NATS is up.
const embeddedStartedMsg = "embedded nats with jetstream started; clients authenticate with the nkey in the data directory"

// waitHealthy waits until base/healthz answers 200.
func waitHealthy(t *testing.T, base string, deadline time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	natstest.WaitFor(t, deadline, base+"/healthz to answer 200", func() bool {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/healthz", nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
