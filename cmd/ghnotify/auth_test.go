package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/embedded"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go"
)

// TestBinaryRunNATSRequiresCredentials runs the real `ghnotify run` and
// proves that its services work with the credentials it generated (a
// delivery is notified), while a second identity cannot connect to its NATS
// listener: not without credentials, not with another NKey, not with a user
// and password. The generated seed appears in no output. A listen address
// other hosts can reach is refused at start.
func TestBinaryRunNATSRequiresCredentials(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(binaries(t), "ghnotify")
	root := corpus.RepoRoot(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := childEnv(
		"GHNOTIFY_DATA_DIR="+dataDir,
		"GHNOTIFY_HTTP_ADDR=127.0.0.1:0",
		"GHNOTIFY_NATS_LISTEN=127.0.0.1:0",
		"GHNOTIFY_LOG_FORMAT=json",
		"GHNOTIFY_LOG_LEVEL=debug",
	)
	run := startProc(t, "ghnotify run", bin, env, "run")
	httpAddr, natsAddr := run.httpAddr(t), run.natsAddr(t)
	waitHealthy(t, "http://"+httpAddr, 30*time.Second)

	send := exec.Command(bin, "send", "--url", "http://"+httpAddr+"/webhooks/github", filepath.Join(root, "examples", "issues-opened.json"))
	send.Env = env
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("ghnotify send: %v\n%s", err, out)
	}
	natstest.WaitFor(t, 30*time.Second, "the notification through the authenticated services", func() bool {
		return strings.Contains(run.stdout.String(), "Launch countdown skips from 3 to 1")
	})

	url := "nats://" + natsAddr
	other, _, _, err := embedded.LoadOrCreateUserKey(filepath.Join(t.TempDir(), "other.nk"))
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]nats.Option{
		"no credentials":    nil,
		"another nkey":      {other.Option()},
		"user and password": {nats.UserInfo("ghnotify", "ghnotify")},
	} {
		nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			// Show what the intruder could have done before failing.
			perr := nc.Publish("github.raw.issues", []byte(`{"forged":true}`))
			nc.Close()
			t.Fatalf("%s: connected to the embedded nats (publish error: %v)", name, perr)
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(err.Error(), "Authorization Violation") {
			t.Fatalf("%s: err = %v, want an authorization violation", name, err)
		}
	}
	key, err := nats.NkeyOptionFromSeed(NATSKeyFilePath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, key)
	if err != nil {
		t.Fatalf("the data directory's nkey cannot connect: %v", err)
	}
	nc.Close()

	run.stop(t, 60*time.Second)
	seed, err := os.ReadFile(NATSKeyFilePath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(seed)); s == "" || strings.Contains(run.stdout.String()+run.stderr.String(), s) {
		t.Fatal("the nkey seed is empty or appeared in the output")
	}

	// A listener on every interface is refused unless allowed explicitly.
	remote := childEnv(
		"GHNOTIFY_DATA_DIR="+dataDir,
		"GHNOTIFY_HTTP_ADDR="+httpAddr,
		// Refused before it listens: the port is never bound.
		"GHNOTIFY_NATS_LISTEN=:0",
	)
	refused := exec.Command(bin, "run")
	refused.Env = remote
	out, err := refused.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "GHNOTIFY_NATS_ALLOW_REMOTE") {
		t.Fatalf("ghnotify run on every interface: err %v, want a refusal naming GHNOTIFY_NATS_ALLOW_REMOTE:\n%s", err, out)
	}
}
