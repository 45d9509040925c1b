package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/disktest"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	natsserver "github.com/nats-io/nats-server/v2/test"
)

func TestStoreHealth(t *testing.T) {
	t.Parallel()
	notStored := fmt.Errorf("publishing raw delivery: %w: %w", ErrNotStored, context.DeadlineExceeded)
	tests := []struct {
		name     string
		outcomes []error
		after    time.Duration
		ready    bool
	}{
		{name: "nothing published", ready: true},
		{name: "stored", outcomes: []error{nil}, ready: true},
		{name: "not stored", outcomes: []error{notStored}, ready: false},
		{name: "not stored, just before the hold ends", outcomes: []error{notStored}, after: storeFailureHold - time.Millisecond, ready: false},
		{name: "not stored, hold over", outcomes: []error{notStored}, after: storeFailureHold, ready: true},
		{name: "not stored, then stored", outcomes: []error{notStored, nil}, ready: true},
		{name: "stored, then not stored", outcomes: []error{nil, notStored}, ready: false},
		{name: "disconnected is not a store failure", outcomes: []error{errors.New("nats: connection reconnecting")}, ready: true},
		{name: "not stored, then disconnected", outcomes: []error{notStored, errors.New("nats: connection reconnecting")}, ready: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_000_000, 0)
			h := newStoreHealth()
			h.now = func() time.Time { return now }
			for _, err := range tt.outcomes {
				h.observe(err)
			}
			now = now.Add(tt.after)
			err := h.check()
			if (err == nil) != tt.ready {
				t.Fatalf("check() = %v; want ready=%v", err, tt.ready)
			}
			if err != nil && !errors.Is(err, ErrNotStored) {
				t.Fatalf("check() = %v; want it to carry the publish error", err)
			}
		})
	}
	var none *storeHealth
	none.observe(notStored)
	if err := none.check(); err != nil {
		t.Fatalf("nil storeHealth check() = %v", err)
	}
}

// TestReadyzAfterDeliveryNotStored runs the gateway against a NATS server
// (not embedded, so nothing restarts it) whose store fills up: once a
// delivery cannot be stored, /readyz answers 503 although NATS is
// connected and the stream answers.
func TestReadyzAfterDeliveryNotStored(t *testing.T) {
	t.Parallel()
	dir := disktest.Mount(t, "24m")
	opts := natstest.Options(filepath.Join(dir, "jetstream"))
	srv := natsserver.RunServer(opts)
	// Registered after the mount: the server lets go of the tmpfs first.
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	nc, js := natstest.Connect(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provision.Ensure(ctx, js, provision.Defaults()); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, nc, func(c *Config) { c.PublishTimeout = time.Second })
	natstest.WaitFor(t, 10*time.Second, "readyz to be 200", func() bool { return g.get(t, "/readyz") == http.StatusOK })

	disktest.Fill(t, dir, 1<<20)
	body := []byte(`{"action":"opened","issue":{"body":"` + strings.Repeat("x", 64<<10) + `"}}`)
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatal("100 deliveries of 64 KiB stored with 1 MiB free")
		}
		b := append([]byte(fmt.Sprintf(`{"n":%d,`, n)), body[1:]...)
		d := g.post(t, "issues", fmt.Sprintf("full-%d", n), "application/json", b)
		if d.status == http.StatusServiceUnavailable {
			break
		}
		if d.status != http.StatusAccepted {
			t.Fatalf("delivery %d answered %d %+v", n, d.status, d.resp)
		}
	}
	if !nc.IsConnected() {
		t.Fatal("nats disconnected: the test would not prove the publish outcome check")
	}
	res, err := http.Get(g.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Error, "could not be stored") {
		t.Fatalf("/readyz answered %d %+v after a delivery could not be stored", res.StatusCode, r)
	}
	t.Logf("/readyz: %d %s", res.StatusCode, r.Error)
}
