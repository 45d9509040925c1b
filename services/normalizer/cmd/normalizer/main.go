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
)

// drainTimeout bounds the wait for the NATS connection to drain at exit.
const drainTimeout = 30 * time.Second

func main() {
	e := config.NewEnv(os.LookupEnv)
	cfg := normalizer.ConfigFromEnv(e)
	natsCfg := natsconn.FromEnv(e)
	logCfg := logging.FromEnv(e, "json")
	err := e.Err()
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg, natsCfg, logCfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "normalizer:", err)
		os.Exit(1)
	}
}

// run connects to NATS, runs the normalizer until ctx ends and drains the connection.
func run(ctx context.Context, cfg normalizer.Config, natsCfg natsconn.Config, logCfg logging.Config) error {
	log, err := logging.New(os.Stderr, logCfg)
	if err != nil {
		return err
	}
	nc, err := natsconn.Connect("ghnotify-normalizer", natsCfg, log)
	if err != nil {
		return err
	}
	runErr := normalizer.Run(ctx, cfg, nc.Conn, log)
	if err := nc.DrainAndWait(drainTimeout); err != nil {
		log.Warn().Err(err).Msg("closing nats connection")
	}
	return runErr
}
