// Command slack-sink posts ghnotify's canonical events to Slack according
// to a routes file.
package main

import (
	"context"
	"flag"
	"os"

	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/lifecycle"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	// The image is FROM scratch: these CA roots let it verify Slack's HTTPS.
	_ "golang.org/x/crypto/x509roots/fallback"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	routesFlag := flag.String("routes", "", "routes file (overrides GHNOTIFY_ROUTES)")
	flag.Parse()
	e := config.NewEnv(os.LookupEnv)
	cfg := sink.ConfigFromEnv(e)
	if *routesFlag != "" {
		cfg.RoutesFile = *routesFlag
	}
	cfg.Console = os.Stdout
	lifecycle.Main(lifecycle.Service{
		Name:            "slack-sink",
		Version:         lifecycle.Version(version),
		Config:          cfg,
		NATS:            natsconn.FromEnv(e),
		Log:             logging.FromEnv(e, "json"),
		ShutdownTimeout: cfg.ShutdownTimeout,
		Run: func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
			return sink.Run(ctx, cfg, nc, log)
		},
	}, e.Err())
}
