// Command normalizer runs ghnotify's normalizer on its own: it reads raw
// GitHub deliveries from NATS JetStream and publishes canonical events.
// Configuration comes from the environment (see the service README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ghnotify/ghnotify/services/normalizer"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// drainTimeout bounds the wait for the NATS connection to drain at exit.
const drainTimeout = 30 * time.Second

func main() {
	e := config.NewEnv(os.LookupEnv)
	cfg := normalizer.ConfigFromEnv(e)
	natsCfg := natsconn.FromEnv(e)
	logCfg := logging.Config{
		Level:  e.String("GHNOTIFY_LOG_LEVEL", "info"),
		Format: e.String("GHNOTIFY_LOG_FORMAT", "json"),
	}
	err := e.Err()
	var log zerolog.Logger
	if err == nil {
		log, err = logging.New(os.Stderr, logCfg)
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg, natsCfg, log)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "normalizer:", err)
		os.Exit(1)
	}
}

// run connects to NATS, runs the normalizer until ctx ends and drains the connection.
func run(ctx context.Context, cfg normalizer.Config, natsCfg natsconn.Config, log zerolog.Logger) error {
	closed := make(chan struct{})
	nc, err := natsconn.Connect("ghnotify-normalizer", natsCfg, log,
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return err
	}
	runErr := normalizer.Run(ctx, cfg, nc, log)
	if err := nc.Drain(); err != nil {
		log.Warn().Err(err).Msg("draining nats connection failed")
		nc.Close()
		return runErr
	}
	select {
	case <-closed:
	case <-time.After(drainTimeout):
		log.Warn().Msg("nats connection did not drain in time; closing")
		nc.Close()
	}
	return runErr
}
