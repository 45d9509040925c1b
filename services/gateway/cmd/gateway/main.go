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
)

func main() {
	e := config.NewEnv(os.LookupEnv)
	cfg := gateway.ConfigFromEnv(e)
	natsCfg := natsconn.FromEnv(e)
	logCfg := logging.FromEnv(e, "json")
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

// run connects to NATS, serves until ctx ends, then drains the connection.
func run(ctx context.Context, cfg gateway.Config, natsCfg natsconn.Config, logCfg logging.Config) error {
	log, err := logging.New(os.Stderr, logCfg)
	if err != nil {
		return err
	}
	nc, err := natsconn.Connect("ghnotify-gateway", natsCfg, log)
	if err != nil {
		return err
	}
	runErr := gateway.Run(ctx, cfg, nc.Conn, log)
	if err := nc.DrainAndWait(cfg.ShutdownTimeout + time.Second); err != nil {
		log.Warn().Err(err).Msg("closing nats connection")
	}
	return runErr
}
