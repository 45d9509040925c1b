// Command gateway runs ghnotify's webhook receiver on its own: it receives
// GitHub webhooks over HTTP and stores them in NATS JetStream.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/nats-io/nats.go"
)

func main() {
	e := config.NewEnv(os.LookupEnv)
	cfg := gateway.ConfigFromEnv(e)
	natsCfg := natsconn.FromEnv(e)
	logCfg := logging.Config{
		Level:  e.String("GHNOTIFY_LOG_LEVEL", "info"),
		Format: e.String("GHNOTIFY_LOG_FORMAT", "json"),
	}
	err := e.Err()
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg, natsCfg, logCfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg gateway.Config, natsCfg natsconn.Config, logCfg logging.Config) error {
	log, err := logging.New(os.Stderr, logCfg)
	if err != nil {
		return err
	}
	closed := make(chan struct{})
	nc, err := natsconn.Connect("ghnotify-gateway", natsCfg, log, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return err
	}
	runErr := gateway.Run(ctx, cfg, nc, log)
	if err := nc.Drain(); err != nil {
		log.Warn().Err(err).Msg("draining nats connection failed")
		nc.Close()
	}
	select {
	case <-closed:
	case <-time.After(cfg.ShutdownTimeout + time.Second):
		log.Warn().Msg("nats connection did not drain in time; closing it")
		nc.Close()
	}
	return runErr
}
