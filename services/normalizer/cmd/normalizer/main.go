// Command normalizer runs ghnotify's normalizer on its own: it reads raw
// GitHub deliveries from NATS JetStream and publishes canonical events.
// Configuration comes from the environment (see the service README).
package main

import (
	"context"
	"os"

	"github.com/ghnotify/ghnotify/services/normalizer"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/lifecycle"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	e := config.NewEnv(os.LookupEnv)
	cfg := normalizer.ConfigFromEnv(e)
	lifecycle.Main(lifecycle.Service{
		Name:    "normalizer",
		Version: lifecycle.Version(version),
		Config:  cfg,
		NATS:    natsconn.FromEnv(e),
		Log:     logging.FromEnv(e, "json"),
		// The normalizer finishes the message in hand: its publish timeout
		// bounds that.
		ShutdownTimeout: cfg.PublishTimeout,
		Run: func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
			return normalizer.Run(ctx, cfg, nc, log)
		},
	}, e.Err())
}
