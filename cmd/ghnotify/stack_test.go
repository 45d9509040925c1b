package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/nats-io/nats.go"
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
// external clients on GHNOTIFY_NATS_LISTEN, admits there only the NKey
// generated into the data directory, and that the services' in-process
// connections work with it, with the listener on or off.
func TestStartNATSClientListener(t *testing.T) {
	tests := []struct {
		name   string
		listen string
	}{
		{name: "given address", listen: "127.0.0.1:0"},
		{name: "off", listen: listenOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := stackConfig{DataDir: filepath.Join(t.TempDir(), "data"), NATSListen: tt.listen}
			logs := &syncBuffer{}
			connect, shutdown, _, err := startNATS(cfg, zerolog.New(logs))
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
			// The address bound on port 0, as the start logged it.
			var started struct {
				URL string `json:"client_url"`
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, embeddedStartedMsg) {
					_ = json.Unmarshal([]byte(line), &started)
				}
			}
			if started.URL == "" {
				t.Fatalf("no client_url logged at start:\n%s", logs.String())
			}
			if nc, err := nats.Connect(started.URL, nats.MaxReconnects(0)); err == nil {
				nc.Close()
				t.Fatal("a client without credentials connected to the embedded server")
			}
			key, err := nats.NkeyOptionFromSeed(NATSKeyFilePath(cfg.DataDir))
			if err != nil {
				t.Fatalf("no nkey in the data directory: %v", err)
			}
			nc, err := nats.Connect(started.URL, key)
			if err != nil {
				t.Fatalf("the data directory's nkey cannot connect on %s: %v", started.URL, err)
			}
			nc.Close()
			if fi, err := os.Stat(NATSKeyFilePath(cfg.DataDir)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("nkey file: %v, mode %v; want 0600", err, fi.Mode().Perm())
			}
		})
	}
}

// TestStartNATSRefusesRemoteListen checks that GHNOTIFY_NATS_LISTEN (and
// GHNOTIFY_NATS_MONITOR) on an address other hosts can reach is refused, and
// allowed with a warning under GHNOTIFY_NATS_ALLOW_REMOTE.
func TestStartNATSRefusesRemoteListen(t *testing.T) {
	// Refused before anything listens: port 0 is never bound.
	port := 0
	for _, tt := range []struct {
		name string
		cfg  stackConfig
	}{
		{"all interfaces", stackConfig{NATSListen: ":" + strconv.Itoa(port)}},
		{"monitor on all interfaces", stackConfig{NATSListen: listenOff, NATSMonitor: ":" + strconv.Itoa(port)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir = filepath.Join(t.TempDir(), "data")
			_, shutdown, _, err := startNATS(tt.cfg, zerolog.Nop())
			if err == nil {
				shutdown()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), "GHNOTIFY_NATS_ALLOW_REMOTE") {
				t.Fatalf("err = %v, want it to name GHNOTIFY_NATS_ALLOW_REMOTE", err)
			}
		})
	}
	t.Run("allowed explicitly", func(t *testing.T) {
		e := config.NewEnv(envOf(map[string]string{"GHNOTIFY_NATS_LISTEN": ":" + strconv.Itoa(port), "GHNOTIFY_NATS_ALLOW_REMOTE": "true"}))
		cfg := stackConfigFromEnv(e)
		if err := e.Err(); err != nil {
			t.Fatal(err)
		}
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		logs := &syncBuffer{}
		connect, shutdown, _, err := startNATS(cfg, zerolog.New(logs))
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
		if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "other hosts can reach") {
			t.Fatalf("no warning in:\n%s", logs.String())
		}
		seed, _ := os.ReadFile(NATSKeyFilePath(cfg.DataDir))
		if len(seed) == 0 || strings.Contains(logs.String(), strings.TrimSpace(string(seed))) {
			t.Fatal("the nkey seed is missing or appeared in the log")
		}
	})
}
