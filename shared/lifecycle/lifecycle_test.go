package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

type exampleConfig struct {
	Addr     string
	Token    config.Secret
	Secrets  []config.Secret
	Wait     time.Duration
	Listener net.Listener
	OnListen func(net.Addr)
	Nested   struct{ Timeout time.Duration }
	hidden   string
}

// lockedBuffer is a log destination that NATS callbacks may still write to
// from their own goroutines while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		got = append(got, m)
	}
	return got
}

func TestRunLogsConfigOnceMaskedAndStopsCleanly(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	var out lockedBuffer
	cfg := exampleConfig{Addr: ":8080", Token: "tok-123456", Secrets: []config.Secret{"s1-abcdef", ""},
		Wait: 1500 * time.Millisecond, OnListen: func(net.Addr) {}, hidden: "x"}
	cfg.Nested.Timeout = 2 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	ran := false
	err := Run(ctx, Service{
		Name:    "example",
		Version: "v1.2.3",
		Config:  cfg,
		NATS:    natsconn.Config{URL: strings.Replace(ns.Srv.ClientURL(), "nats://", "nats://user:pw-987654@", 1)},
		Log:     logging.Config{Format: "json"},
		Run: func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
			ran = true
			log.Info().Msg("running")
			cancel()
			<-ctx.Done()
			return ctx.Err() // a service stopped by the signal before it was up
		},
	}, &out)
	if err != nil {
		t.Fatalf("Run after cancellation: %v, want nil (a clean stop)", err)
	}
	if !ran {
		t.Fatal("the service did not run")
	}
	for _, secret := range []string{"tok-123456", "s1-abcdef", "pw-987654"} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("secret %q in the log:\n%s", secret, out.String())
		}
	}
	start := lines(t, out.String())[0]
	if start["message"] != "starting" || start["version"] != "v1.2.3" {
		t.Fatalf("first line %v: want the start line with the version", start)
	}
	c := start["config"].(map[string]any)
	if c["Wait"] != "1.5s" || c["Token"] != config.Masked || c["Addr"] != ":8080" ||
		c["Nested"].(map[string]any)["Timeout"] != "2s" {
		t.Fatalf("logged config %v", c)
	}
	for _, gone := range []string{"Listener", "OnListen", "hidden"} {
		if _, ok := c[gone]; ok {
			t.Errorf("logged config has %s", gone)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if n := strings.Count(l, `"service":`); n != 1 {
			t.Errorf("line with %d service fields: %s", n, l)
		}
	}
}

func TestRunReturnsTheServiceError(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	boom := errors.New("boom")
	err := Run(t.Context(), Service{
		Name: "example",
		NATS: natsconn.Config{URL: ns.Srv.ClientURL()},
		Run:  func(context.Context, *nats.Conn, zerolog.Logger) error { return boom },
	}, &lockedBuffer{})
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the service's error", err)
	}
}

func TestRedactedNATSURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"nats://a:b@h:4222,nats://h2:4222": "nats://a:" + config.Masked + "@h:4222,nats://h2:4222",
		"nats://tok@h:4222":                "nats://" + config.Masked + "@h:4222",
		"nats://h:4222":                    "nats://h:4222",
	} {
		got := natsFields(natsconn.Config{URL: in}).URL
		// url.URL escapes the mask's asterisks in the user part.
		got = strings.ReplaceAll(got, "%2A", "*")
		if got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
