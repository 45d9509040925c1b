// Command slack-sink posts ghnotify's canonical events to Slack according
// to a routes file.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"

	// The image is FROM scratch: these CA roots let it verify Slack's HTTPS.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	routesFlag := flag.String("routes", "", "routes file (overrides GHNOTIFY_ROUTES)")
	flag.Parse()
	e := config.NewEnv(os.LookupEnv)
	cfg := sink.ConfigFromEnv(e)
	natsCfg := natsconn.FromEnv(e)
	logCfg := logging.FromEnv(e, "json")
	if *routesFlag != "" {
		cfg.RoutesFile = *routesFlag
	}
	cfg.Console = os.Stdout
	err := e.Err()
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg, natsCfg, logCfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slack-sink:", err)
		os.Exit(1)
	}
}

// run connects to NATS, runs the sink until ctx ends and drains the connection.
func run(ctx context.Context, cfg sink.Config, natsCfg natsconn.Config, logCfg logging.Config) error {
	log, err := logging.New(os.Stderr, logCfg)
	if err != nil {
		return err
	}
	nc, err := natsconn.Connect("ghnotify-slack-sink", natsCfg, log)
	if err != nil {
		return err
	}
	runErr := sink.Run(ctx, cfg, nc.Conn, log)
	if err := nc.DrainAndWait(cfg.ShutdownTimeout + 10*time.Second); err != nil {
		log.Warn().Err(err).Msg("closing nats connection")
	}
	return runErr
}
