package main

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

func TestStackConfigFromEnv(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantData   string
		wantListen string
		wantURL    string
		wantStop   time.Duration
	}{
		{name: "defaults", env: map[string]string{}, wantData: "./data", wantListen: "127.0.0.1:4222", wantStop: 30 * time.Second},
		{
			name:     "overrides",
			env:      map[string]string{"GHNOTIFY_DATA_DIR": "/var/lib/ghnotify", "GHNOTIFY_NATS_LISTEN": "off", "NATS_URL": "nats://n1:4222", "GHNOTIFY_SHUTDOWN_TIMEOUT": "5s"},
			wantData: "/var/lib/ghnotify", wantListen: listenOff, wantURL: "nats://n1:4222", wantStop: 5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := config.NewEnv(envOf(tt.env))
			cfg := stackConfigFromEnv(e)
			if err := e.Err(); err != nil {
				t.Fatal(err)
			}
			if cfg.DataDir != tt.wantData || cfg.NATSListen != tt.wantListen || cfg.NATS.URL != tt.wantURL || cfg.ShutdownTimeout != tt.wantStop {
				t.Fatalf("got data %q, listen %q, url %q, shutdown %s; want %q, %q, %q, %s",
					cfg.DataDir, cfg.NATSListen, cfg.NATS.URL, cfg.ShutdownTimeout, tt.wantData, tt.wantListen, tt.wantURL, tt.wantStop)
			}
			if cfg.Log.Format != "console" {
				t.Fatalf("log format %q, want console for ghnotify run", cfg.Log.Format)
			}
			if cfg.Ops.Addr != "127.0.0.1:9093" {
				t.Fatalf("operations address %q, want 127.0.0.1:9093", cfg.Ops.Addr)
			}
		})
	}
}

// TestStartNATSClientListener checks that the embedded server listens for
// external clients on GHNOTIFY_NATS_LISTEN, and that the services'
// in-process connections work with the listener turned off.
func TestStartNATSClientListener(t *testing.T) {
	tests := []struct {
		name   string
		listen string
	}{
		{name: "given address", listen: freeAddr(t)},
		{name: "off", listen: listenOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := stackConfig{DataDir: filepath.Join(t.TempDir(), "data"), NATSListen: tt.listen}
			connect, shutdown, err := startNATS(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown()
			c, err := connect("test")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DrainAndWait(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if tt.listen == listenOff {
				return
			}
			conn, err := net.Dial("tcp", tt.listen)
			if err != nil {
				t.Fatalf("the embedded server does not listen on %s: %v", tt.listen, err)
			}
			conn.Close()
		})
	}
}
