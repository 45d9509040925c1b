package embedded

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/disktest"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// TestStoringResumesAfterDiskFull fills the disk under the store until a
// publish fails, checks that Health reports it, frees the space, and waits
// for KeepStoring to make the server store again. Every acknowledged
// message is still there.
func TestStoringResumesAfterDiskFull(t *testing.T) {
	t.Parallel()
	dir := disktest.Mount(t, "24m")
	srv, err := Start(Config{StoreDir: filepath.Join(dir, "jetstream")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithCancel(t.Context())
	kept := make(chan struct{})
	go func() { srv.KeepStoring(ctx, 200*time.Millisecond, zerolog.Nop()); close(kept) }()
	defer func() { cancel(); <-kept }()

	js := connectProvisioned(t, srv)
	publish := func() error {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.Publish(c, "github.raw.push", make([]byte, 16<<10))
		return err
	}
	if err := srv.Health(); err != nil {
		t.Fatalf("Health before the disk fills = %v", err)
	}

	filler := disktest.Fill(t, dir, 1<<20)
	acked := 0
	for ; ; acked++ {
		if acked > 1000 {
			t.Fatal("1000 publishes of 16 KiB stored with 1 MiB free")
		}
		if err := publish(); err != nil {
			t.Logf("publish %d on a full disk: %v", acked, err)
			break
		}
	}
	if err := srv.Health(); err == nil {
		t.Fatal("Health = nil while the stream cannot store")
	}
	if err := publish(); err == nil {
		t.Fatal("a publish succeeded on a full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 30*time.Second, "the server to store again after space returned", func() bool {
		return srv.Health() == nil && publish() == nil
	})
	s, err := js.Stream(t.Context(), provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs < uint64(acked)+1 {
		t.Fatalf("raw stream holds %d messages; %d were acknowledged before the disk filled, and one after", info.State.Msgs, acked)
	}
}

// TestJetStreamRestartedAfterItDisabledItself stops JetStream as
// nats-server does on a permission error while writing, and waits for
// KeepStoring to start it again.
func TestJetStreamRestartedAfterItDisabledItself(t *testing.T) {
	t.Parallel()
	srv, err := Start(Config{StoreDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithCancel(t.Context())
	kept := make(chan struct{})
	go func() { srv.KeepStoring(ctx, 200*time.Millisecond, zerolog.Nop()); close(kept) }()
	defer func() { cancel(); <-kept }()
	js := connectProvisioned(t, srv)
	if err := srv.NATS().ShutdownJetStream(); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 30*time.Second, "jetstream to store again", func() bool {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.Publish(c, "github.raw.push", []byte(`{}`))
		return err == nil && srv.Health() == nil
	})
}

// TestStartFailsOnReadOnlyStore checks that an unwritable store directory
// fails at start with that cause. The ready timeout is far longer than the
// test's own timeout, so waiting for readiness would fail the test.
func TestStartFailsOnReadOnlyStore(t *testing.T) {
	t.Parallel()
	var dir string
	if os.Geteuid() == 0 {
		// Root writes through file modes; a read-only mount stops it.
		dir = disktest.Mount(t, "1m")
		if err := os.Mkdir(filepath.Join(dir, "jetstream"), 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Fatalf("remounting read-only: %v: %s", err, out)
		}
	} else {
		dir = t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "jetstream"), 0o500); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Start(Config{StoreDir: filepath.Join(dir, "jetstream"), ReadyTimeout: time.Hour}, zerolog.Nop())
	if err == nil {
		t.Fatal("started on a read-only store directory")
	}
	if !errors.Is(err, syscall.EROFS) && !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("error = %v; want the store directory named as not writable, with the cause", err)
	}
	t.Log(err)
}

// TestStartFailsOnBusyClientPort checks that a client address in use fails
// at start with that cause.
func TestStartFailsOnBusyClientPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	key, _, _, err := LoadOrCreateUserKey(filepath.Join(t.TempDir(), "nats-user.nk"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(Config{StoreDir: t.TempDir(), ClientAddr: addr, User: key, ReadyTimeout: time.Hour}, zerolog.Nop())
	if err == nil {
		t.Fatal("started on a busy client port")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error = %v; want the address and 'address already in use'", err)
	}
	t.Log(err)
}

// TestJetStreamRestartWhileClientsAskForStreamInfo restarts JetStream
// while a client asks for stream information without pause, as the
// gateway's dedupe index does: run with -race, the restart must not race
// with the read loop that dispatched the client's last request.
func TestJetStreamRestartWhileClientsAskForStreamInfo(t *testing.T) {
	t.Parallel()
	srv, err := Start(Config{StoreDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	js := connectProvisioned(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		for ctx.Err() == nil {
			c, ccancel := context.WithTimeout(ctx, time.Second)
			_, _ = js.Stream(c, provision.StreamRaw)
			ccancel()
		}
	}()
	defer func() { cancel(); <-asked }()
	jsc := srv.NATS().JetStreamConfig()
	if jsc == nil {
		t.Fatal("jetstream is not enabled")
	}
	cfg := *jsc
	cfg.StoreDir = filepath.Dir(jsc.StoreDir) // as KeepStoring restarts it
	for range 3 {
		if err := srv.restartJetStream(&cfg); err != nil {
			t.Fatal(err)
		}
	}
	natstest.WaitFor(t, 30*time.Second, "jetstream to store again", func() bool {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.Publish(c, "github.raw.push", []byte(`{}`))
		return err == nil
	})
}

// connectProvisioned connects a client to srv for the rest of the test and
// provisions ghnotify's streams and buckets through it.
func connectProvisioned(t *testing.T, srv *Server) jetstream.JetStream {
	t.Helper()
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := provision.Ensure(ctx, js, provision.Defaults()); err != nil {
		t.Fatal(err)
	}
	return js
}
