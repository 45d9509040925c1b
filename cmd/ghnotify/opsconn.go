package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/ghnotify/ghnotify/shared/streamscan"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// opsTimeout bounds connecting and each request of the operations commands.
const opsTimeout = 10 * time.Second

// opsClient is the NATS connection of an operations command.
type opsClient struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// Close closes the connection, flushing what was published.
func (c *opsClient) Close() {
	_ = c.nc.Drain()
}

// opsNATSConfig is where the operations commands find NATS: NATS_URL and the
// NATS_* credentials when NATS_URL is set, else the embedded server of
// `ghnotify run` (GHNOTIFY_NATS_LISTEN) with the nkey in GHNOTIFY_DATA_DIR,
// found as `ghnotify nats-context` finds it.
func opsNATSConfig(lookup config.Lookup) (natsconn.Config, error) {
	env := config.NewEnv(lookup)
	dataDir := env.String("GHNOTIFY_DATA_DIR", "./data")
	listen := env.String("GHNOTIFY_NATS_LISTEN", "127.0.0.1:4222")
	cfg := natsconn.FromEnv(env)
	if err := env.Err(); err != nil {
		return natsconn.Config{}, err
	}
	if cfg.URL != "" {
		return cfg, nil
	}
	if listen == listenOff {
		return natsconn.Config{}, errors.New("GHNOTIFY_NATS_LISTEN is off: the embedded server listens for no client; set NATS_URL or give it an address")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return natsconn.Config{}, fmt.Errorf("GHNOTIFY_NATS_LISTEN %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	key := NATSKeyFilePath(dataDir)
	if _, err := os.Stat(key); err != nil {
		return natsconn.Config{}, fmt.Errorf("no NATS credentials: %s is missing (start `ghnotify run` with GHNOTIFY_DATA_DIR=%s, or set NATS_URL and the NATS_* credentials)", key, dataDir)
	}
	return natsconn.Config{URL: "nats://" + net.JoinHostPort(host, port), NKeyFile: key}, nil
}

// connectOps connects an operations command to NATS. Unlike a service it
// does not wait for a server that is not there.
func connectOps(lookup config.Lookup) (*opsClient, error) {
	cfg, err := opsNATSConfig(lookup)
	if err != nil {
		return nil, err
	}
	opts, err := natsconn.Options("ghnotify-cli", cfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	opts = append(opts, nats.RetryOnFailedConnect(false), nats.MaxReconnects(3), nats.Timeout(5*time.Second))
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w (is `ghnotify run` running? for another server set NATS_URL)", redactURLs(cfg.URL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	return &opsClient{nc: nc, js: js}, nil
}

// scanOptions select the messages scanStream reads.
type scanOptions = streamscan.Options

// scanStream calls fn with each message of a stream that matches o, oldest
// first, up to the last one stored when the scan started.
var scanStream = streamscan.Scan
