// Command gateway runs ghnotify's webhook receiver on its own: it receives
// GitHub webhooks over HTTP and stores them in NATS JetStream.
package main

import (
	"context"
	"os"

	"github.com/ghnotify/ghnotify/services/gateway"
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
	cfg := gateway.ConfigFromEnv(e)
	s := lifecycle.Service{
		Name:            "gateway",
		Version:         lifecycle.Version(version),
		Config:          cfg,
		NATS:            natsconn.FromEnv(e),
		Log:             logging.FromEnv(e, "json"),
		ShutdownTimeout: cfg.ShutdownTimeout,
		Run: func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
			return gateway.Run(ctx, cfg, nc, log)
		},
	}
	err := e.Err()
	if err == nil {
		err = cfg.Validate()
	}
	lifecycle.Main(s, err)
}
