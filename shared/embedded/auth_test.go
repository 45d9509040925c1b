package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"
)

// TestOnlyTheUserKeyConnects starts the server with a client listener and
// proves that a second identity cannot connect: not without credentials,
// not with another NKey, not with a user and password or a token, not
// in-process without the key; and that the user key can, from its seed file
// as the nats CLI reads it and in-process.
func TestOnlyTheUserKeyConnects(t *testing.T) {
	t.Parallel()
	key, _, _, err := LoadOrCreateUserKey(filepath.Join(t.TempDir(), "nats-user.nk"))
	if err != nil {
		t.Fatal(err)
	}
	// Over the unbuffered in-process pipe, the server's -ERR to a refused
	// client waits for the server's write deadline (10 s by default); a
	// short one ends that sooner. Admitted clients are unaffected.
	srv, err := Start(Config{StoreDir: t.TempDir(), ClientAddr: "127.0.0.1:0", User: key, WriteDeadline: time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	url := srv.ClientURL()

	other, _, _, err := LoadOrCreateUserKey(filepath.Join(t.TempDir(), "other.nk"))
	if err != nil {
		t.Fatal(err)
	}
	// A forged option that claims the right public key but signs with
	// another seed.
	otherKP, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	forged := nats.Nkey(key.PublicKey(), otherKP.Sign)

	refused := []struct {
		name string
		opts []nats.Option
		// pipe: an in-process connection may see the closed pipe before
		// the server's -ERR; that it is refused is what counts.
		pipe bool
	}{
		{"no credentials", nil, false},
		{"another nkey", []nats.Option{other.Option()}, false},
		{"the right public key signed by another seed", []nats.Option{forged}, false},
		{"user and password", []nats.Option{nats.UserInfo("ghnotify", "guess")}, false},
		{"token", []nats.Option{nats.Token("guess")}, false},
		{"in-process without credentials", []nats.Option{nats.InProcessServer(srv.NATS())}, true},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			nc, err := nats.Connect(url, append(tt.opts, nats.MaxReconnects(0))...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if tt.pipe {
				return
			}
			if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Fatalf("err = %v, want an authorization violation", err)
			}
		})
	}

	fromFile, err := nats.NkeyOptionFromSeed(key.SeedFile())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, fromFile)
	if err != nil {
		t.Fatalf("the user key from its seed file cannot connect: %v", err)
	}
	if err := nc.Publish("github.raw.test", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	nc.Close()

	in, err := srv.Connect("in-process")
	if err != nil {
		t.Fatalf("in-process connection with the key: %v", err)
	}
	in.Close()
}

// TestStartRefusesUnsafeListeners checks that the server refuses a client
// listener without credentials, and a client or monitoring address other
// hosts can reach unless allowed, then warns.
func TestStartRefusesUnsafeListeners(t *testing.T) {
	t.Parallel()
	key, _, _, err := LoadOrCreateUserKey(filepath.Join(t.TempDir(), "nats-user.nk"))
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		cfg  Config
		want string
	}{
		{"listener without credentials", Config{ClientAddr: "127.0.0.1:0"}, "without credentials"},
		{"all interfaces", Config{ClientAddr: ":0", User: key}, "reachable from other hosts"},
		{"unspecified address", Config{ClientAddr: "0.0.0.0:0", User: key}, "reachable from other hosts"},
		{"other host address", Config{ClientAddr: "192.0.2.10:0", User: key}, "reachable from other hosts"},
		{"monitor on all interfaces", Config{MonitorAddr: ":0", User: key}, "reachable from other hosts"},
		{"remote allowed but no credentials", Config{ClientAddr: ":0", AllowRemote: true}, "without credentials"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.StoreDir = t.TempDir()
			srv, err := Start(tt.cfg, zerolog.Nop())
			if err == nil {
				srv.Shutdown()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}

	t.Run("remote allowed explicitly", func(t *testing.T) {
		logs := &lockedBuffer{}
		srv, err := Start(Config{StoreDir: t.TempDir(), ClientAddr: "0.0.0.0:0", User: key, AllowRemote: true}, zerolog.New(logs))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
		if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "other hosts can reach") {
			t.Fatalf("no warning about the reachable listener in:\n%s", logs.String())
		}
	})

	t.Run("loopback names", func(t *testing.T) {
		for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.1.2.3": true, "": false, "0.0.0.0": false, "::": false, "example.com": false, "10.0.0.1": false} {
			if got := IsLoopback(host); got != want {
				t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
			}
		}
	})
}

func TestLoadOrCreateUserKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "nats-user.nk")
	key, created, _, err := LoadOrCreateUserKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !created || !nkeys.IsValidPublicUserKey(key.PublicKey()) {
		t.Fatalf("created %v, public key %q", created, key.PublicKey())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o, want 600", fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(path)
	if !bytes.HasPrefix(seed, []byte("SU")) {
		t.Fatal("the key file does not hold a user seed")
	}
	if strings.Contains(key.String(), string(bytes.TrimSpace(seed))) {
		t.Fatal("String shows the seed")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	again, created, tightened, err := LoadOrCreateUserKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || !tightened || again.PublicKey() != key.PublicKey() {
		t.Fatalf("second load: created %v, tightened %v, same key %v", created, tightened, again.PublicKey() == key.PublicKey())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o after load, want 600", fi.Mode().Perm())
	}

	bad := filepath.Join(t.TempDir(), "bad.nk")
	const junk = "not-a-seed-but-a-secret-looking-string"
	if err := os.WriteFile(bad, []byte(junk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadOrCreateUserKey(bad); err == nil || strings.Contains(err.Error(), junk) {
		t.Fatalf("err = %v, want an error that does not quote the file", err)
	}
	// An account seed is a valid nkey but not a user.
	akp, _ := nkeys.CreateAccount()
	aseed, _ := akp.Seed()
	acct := filepath.Join(t.TempDir(), "account.nk")
	if err := os.WriteFile(acct, aseed, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadOrCreateUserKey(acct); err == nil || strings.Contains(err.Error(), string(aseed)) {
		t.Fatalf("err = %v, want a refusal that does not quote the seed", err)
	}
}

// lockedBuffer is a log sink the server's goroutines and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p under the lock.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
