package embedded

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestStartConnectPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	key, _, _, err := LoadOrCreateUserKey(filepath.Join(t.TempDir(), "nats-user.nk"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(Config{StoreDir: dir, ClientAddr: "127.0.0.1:0", User: key}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if srv.ClientURL() == "" {
		t.Fatal("server with a client address reports no client URL")
	}
	ext, err := nats.Connect(srv.ClientURL(), key.Option())
	if err != nil {
		t.Fatalf("external client cannot connect: %v", err)
	}
	ext.Close()
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	if nc.MaxPayload() != MaxPayload {
		t.Errorf("max payload = %d, want %d", nc.MaxPayload(), MaxPayload)
	}
	js, _ := jetstream.New(nc)
	if err := provision.Ensure(ctx, js, provision.Defaults()); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "github.raw.ping", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()

	srv, err = Start(Config{StoreDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.ClientURL() != "" {
		t.Errorf("server without client address listens on %s", srv.ClientURL())
	}
	nc, err = srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	st, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("after restart the raw stream holds %d messages, want 1", info.State.Msgs)
	}
}
