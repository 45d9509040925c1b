//go:build chaos

package chaos

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// service is one process the suite starts, kills and starts again.
type service struct {
	name   string
	bin    string
	args   []string
	env    []string
	logDir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
	kills  int
}

// start runs a new incarnation; its output goes to a log file of its own.
func (s *service) start(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatalf("%s started twice", s.name)
	}
	s.starts++
	logPath := filepath.Join(s.logDir, fmt.Sprintf("%s.%d.log", s.name, s.starts))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout = f
	cmd.Stderr = f
	// The child dies with the test process, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *service) kill(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s (pid %d) did not die within 30s of SIGKILL", s.name, s.cmd.Process.Pid)
	}
	s.kills++
	s.cmd, s.done = nil, nil
}

// stop sends SIGTERM and waits up to grace for a clean exit; a service
// still running then is killed, and stop reports false.
func (s *service) stop(t *testing.T, grace time.Duration) bool {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return true
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	clean := true
	select {
	case <-s.done:
	case <-time.After(grace):
		clean = false
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
	s.cmd, s.done = nil, nil
	return clean
}

// signal sends sig (SIGSTOP, SIGCONT) to the running incarnation.
func (s *service) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		if err := s.cmd.Process.Signal(sig); err != nil {
			t.Errorf("signalling %s: %v", s.name, err)
		}
	}
}

// exitedEarly reports an incarnation that ended without being killed.
func (s *service) exitedEarly() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// logTail returns the last n lines of every log of the service.
func (s *service) logTail(n int) string {
	var b strings.Builder
	for i := 1; i <= s.starts; i++ {
		path := filepath.Join(s.logDir, fmt.Sprintf("%s.%d.log", s.name, i))
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(path), len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// freePort returns a port that was free on 127.0.0.1 a moment ago. The
// services that must keep their address across restarts (NATS, the
// gateway) get one once and keep it.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// childEnv is the test's environment without any ghnotify, GitHub, Slack
// or NATS setting, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GHNOTIFY_") || strings.HasPrefix(kv, "GITHUB_") ||
			strings.HasPrefix(kv, "SLACK_") || strings.HasPrefix(kv, "NATS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// waitUntil polls cond every interval until it holds or the deadline
// passes; it reports whether cond held.
func waitUntil(deadline, interval time.Duration, cond func() bool) bool {
	end := time.Now().Add(deadline)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(interval)
	}
}
