// Package lifecycle is the life of a ghnotify service binary, the same for
// every service: configuration read once, a logger, the effective
// configuration in the log, a NATS connection, the service until SIGINT or
// SIGTERM, then a drain of the connection bounded by one rule.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// DrainGrace is what the NATS drain gets on top of a service's own
// shutdown timeout: pending acks and publishes are flushed after the
// service has stopped, within ShutdownTimeout + DrainGrace in all.
const DrainGrace = 10 * time.Second

// DefaultShutdownTimeout bounds a service's own shutdown when it has no
// setting of its own.
const DefaultShutdownTimeout = 20 * time.Second

// Service is one service binary.
type Service struct {
	// Name is the service's name: the service= field of every log line,
	// the NATS connection's name (ghnotify-<Name>) and the prefix of a
	// fatal error.
	Name string
	// Version is the build's version, logged at start.
	Version string
	// Config is the service's effective configuration, logged at start
	// (see Fields: secrets masked, durations as "1.5s").
	Config any
	// NATS and Log are the connection and logging settings.
	NATS natsconn.Config
	Log  logging.Config
	// ShutdownTimeout is the service's own graceful shutdown bound;
	// DefaultShutdownTimeout when zero.
	ShutdownTimeout time.Duration
	// Run runs the service until ctx ends. It does not close nc.
	Run func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error
}

// Main runs s until SIGINT or SIGTERM and exits: 0 after a clean stop, 1
// after an error, which is printed on stderr. configErr is an error from
// reading the configuration; it ends the process before anything starts.
func Main(s Service, configErr error) {
	err := configErr
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = Run(ctx, s, os.Stderr)
		stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", s.Name, err)
		os.Exit(1)
	}
}

// Run logs to w, connects to NATS, runs s.Run until ctx ends and drains the
// connection. An end by ctx (the signal) is a clean stop: nil, whatever
// stage the service had reached.
func Run(ctx context.Context, s Service, w io.Writer) error {
	log, err := logging.New(w, s.Log)
	if err != nil {
		return err
	}
	log = log.With().Str("service", s.Name).Logger()
	shutdown := s.ShutdownTimeout
	if shutdown <= 0 {
		shutdown = DefaultShutdownTimeout
	}
	log.Info().Str("version", s.Version).Str("go", runtime.Version()).
		Dict("config", Fields(s.Config)).Dict("nats", Fields(natsFields(s.NATS))).
		Msg("starting")
	nc, err := natsconn.Connect("ghnotify-"+s.Name, s.NATS, log)
	if err != nil {
		return err
	}
	runErr := s.Run(ctx, nc.Conn, log)
	if err := nc.DrainAndWait(shutdown + DrainGrace); err != nil {
		log.Warn().Err(err).Msg("closing nats connection")
	}
	if runErr != nil && ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
		runErr = nil // stopped by the signal before the service was up
	}
	if runErr != nil {
		return runErr
	}
	log.Info().Msg("stopped")
	return nil
}

// Version returns version when set (by -ldflags "-X main.version=..."),
// else the module version of the build, else "dev".
func Version(version string) string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// natsFields is the NATS configuration as logged: the URL's passwords and
// tokens masked (Password and Token are config.Secret already).
func natsFields(c natsconn.Config) natsconn.Config {
	c.URL = c.RedactedURL()
	return c
}
