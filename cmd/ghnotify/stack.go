package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/normalizer"
	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/services/slack-sink/webconsole"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/embedded"
	"github.com/ghnotify/ghnotify/shared/logging"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// stackConfig configures `ghnotify run`: where NATS is, and each service's
// own configuration read with that service's ConfigFromEnv.
type stackConfig struct {
	// DataDir holds the embedded server's JetStream store and the generated
	// webhook secret (GHNOTIFY_DATA_DIR, ./data).
	DataDir string
	// NATSListen is the embedded server's client address for tools such as
	// the nats CLI; "off" disables it (GHNOTIFY_NATS_LISTEN, 127.0.0.1:4222).
	// Clients authenticate with the NKey kept in the data directory.
	NATSListen string
	// NATSAllowRemote permits NATSListen and NATSMonitor on addresses other
	// hosts can reach (GHNOTIFY_NATS_ALLOW_REMOTE, false).
	NATSAllowRemote bool
	// NATSMonitor is the embedded server's HTTP monitoring address; empty
	// means off (GHNOTIFY_NATS_MONITOR).
	NATSMonitor string
	// NATS selects an external NATS instead of the embedded one when its URL
	// is set (NATS_URL and the NATS auth variables).
	NATS natsconn.Config
	// Provision sizes the streams and buckets.
	Provision provision.Config
	// Log selects the log level and format.
	Log logging.Config
	// Ops is where the whole process's /metrics (and /debug/pprof/ when
	// GHNOTIFY_PPROF is set) is served, apart from the webhook port
	// (GHNOTIFY_OPS_ADDR, 127.0.0.1:9093, "off").
	Ops ops.Config
	// ShutdownTimeout bounds each stage of stopping: the gateway, then the
	// consumers, then each connection's drain (GHNOTIFY_SHUTDOWN_TIMEOUT, 30s).
	ShutdownTimeout time.Duration

	Gateway    gateway.Config
	Normalizer normalizer.Config
	Sink       sink.Config
}

// embeddedMaxPayload is the embedded server's max_payload: the largest size
// NATS recommends. The gateway moves bodies larger than one message to the
// object store, so every delivery GitHub can send is still stored.
const embeddedMaxPayload = 8 << 20

// listenOff disables the embedded server's client listener.
const listenOff = "off"

// stackConfigFromEnv reads the configuration of `ghnotify run`.
func stackConfigFromEnv(e *config.Env) stackConfig {
	return stackConfig{
		DataDir:         e.String("GHNOTIFY_DATA_DIR", "./data"),
		NATSListen:      e.String("GHNOTIFY_NATS_LISTEN", "127.0.0.1:4222"),
		NATSMonitor:     e.String("GHNOTIFY_NATS_MONITOR", ""),
		NATSAllowRemote: e.Bool("GHNOTIFY_NATS_ALLOW_REMOTE", false),
		NATS:            natsconn.FromEnv(e),
		Provision:       provision.FromEnv(e),
		Log:             logging.FromEnv(e, "console"),
		Ops:             ops.FromEnv(e, ops.DefaultRunAddr),
		ShutdownTimeout: e.Duration("GHNOTIFY_SHUTDOWN_TIMEOUT", 30*time.Second),
		Gateway:         gateway.ConfigFromEnv(e),
		Normalizer:      normalizer.ConfigFromEnv(e),
		Sink:            sink.ConfigFromEnv(e),
	}
}

// newRunCommand is `ghnotify run`.
func newRunCommand(e cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the gateway, normalizer and Slack sink in one process around an embedded NATS server",
		Long: `Runs the gateway, the normalizer and the Slack sink in one process around an
embedded NATS server (or an external one when NATS_URL is set). It takes no
arguments: it is configured through the environment.

` + rootLong[strings.Index(rootLong, "Configuration is read"):strings.Index(rootLong, "\n\nThe operations commands")],
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Sprintf("run takes no arguments (got %q); it is configured through the environment", strings.Join(args, " "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCommand(cmd.Context(), e.stdout, e.stderr, e.lookup)
		},
	}
}

// runCommand runs the stack configured by the environment.
func runCommand(ctx context.Context, stdout, stderr io.Writer, lookup config.Lookup) error {
	env := config.NewEnv(lookup)
	cfg := stackConfigFromEnv(env)
	if err := env.Err(); err != nil {
		return err
	}
	log, err := logging.New(stderr, cfg.Log)
	if err != nil {
		return err
	}
	cfg.Sink.Console = stdout
	if err := tightenDataDir(cfg.DataDir, log); err != nil {
		return err
	}
	if err := ensureWebhookSecret(&cfg, log); err != nil {
		return err
	}
	if err := cfg.Gateway.Validate(); err != nil {
		return err
	}
	// One /metrics for the whole process, on the operations address: the
	// sink registers on the default registry, and the gateway serves it next
	// to its own; the normalizer and the sink serve none of their own.
	cfg.Gateway.MetricsGatherer = prometheus.DefaultGatherer
	cfg.Gateway.Ops = cfg.Ops
	cfg.Normalizer.Ops, cfg.Sink.Ops = ops.Config{}, ops.Config{}
	cfg.Gateway.OnListen = func(addr net.Addr) {
		log.Info().Str("url", localURL(addr.String())).
			Msg("ready: send a sample delivery with `ghnotify send examples/issues-opened.json`")
	}
	return runStack(ctx, cfg, log)
}

// ensureWebhookSecret gives the gateway a secret when none is configured:
// the one kept in the data directory, generated on first start.
func ensureWebhookSecret(cfg *stackConfig, log zerolog.Logger) error {
	if len(cfg.Gateway.Secrets) > 0 || cfg.Gateway.InsecureSkipSignature {
		return nil
	}
	path := SecretFilePath(cfg.DataDir)
	secret, created, tightened, err := LoadOrCreateSecret(path)
	if err != nil {
		return err
	}
	cfg.Gateway.Secrets = []config.Secret{secret}
	if tightened {
		log.Warn().Str("file", path).Msg("webhook secret file was readable by others; restricted it to its owner (0600)")
	}
	ev := log.Info()
	if created {
		ev = log.Warn()
	}
	ev.Str("file", path).
		Str("show_it_with", "cat "+shellQuote(path)).
		Msg("GITHUB_WEBHOOK_SECRET is not set; using the webhook secret kept in the data directory. " +
			"Paste the file's contents into the Secret field of your GitHub webhook (Settings > Webhooks); `ghnotify send` uses it too")
	return nil
}

// runStack runs NATS (embedded unless cfg.NATS.URL is set) and the three
// services until ctx ends or one of them fails, then shuts down in order:
// the gateway first (no new deliveries), then the consumers (in-flight
// messages finish), then the NATS connections drain, then the embedded server.
func runStack(ctx context.Context, cfg stackConfig, log zerolog.Logger) error {
	connect, shutdownNATS, storeCheck, err := startNATS(cfg, log)
	if err != nil {
		return err
	}
	defer shutdownNATS()
	cfg.Gateway.StoreCheck = storeCheck

	conns := map[string]*natsconn.Conn{}
	defer func() {
		for name, c := range conns {
			if err := c.DrainAndWait(cfg.ShutdownTimeout); err != nil {
				log.Warn().Err(err).Str("service", name).Msg("draining nats connection")
			}
		}
	}()
	for _, name := range []string{"gateway", "normalizer", "slack-sink"} {
		c, err := connect("ghnotify-" + name)
		if err != nil {
			return err
		}
		conns[name] = c
	}

	js, err := jetstream.New(conns["gateway"].Conn)
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	if err := provision.WaitEnsure(ctx, js, cfg.Provision, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	log.Info().Msg("jetstream streams and buckets ready")
	serveConsole(&cfg, js, log)

	gatewayCtx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGateway()
	consumerCtx, stopConsumers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsumers()

	type result struct {
		name string
		err  error
	}
	done := make(chan result, 3)
	start := func(name string, c context.Context, fn func(context.Context) error) {
		go func() { done <- result{name, fn(c)} }()
	}
	start("gateway", gatewayCtx, func(c context.Context) error {
		return gateway.Run(c, cfg.Gateway, conns["gateway"].Conn, log.With().Str("service", "gateway").Logger())
	})
	start("normalizer", consumerCtx, func(c context.Context) error {
		return normalizer.Run(c, cfg.Normalizer, conns["normalizer"].Conn, log.With().Str("service", "normalizer").Logger())
	})
	start("slack-sink", consumerCtx, func(c context.Context) error {
		return sink.Run(c, cfg.Sink, conns["slack-sink"].Conn, log.With().Str("service", "slack-sink").Logger())
	})

	var errs []error
	running := map[string]bool{"gateway": true, "normalizer": true, "slack-sink": true}
	collect := func(r result) {
		delete(running, r.name)
		switch {
		case r.err != nil && ctx.Err() != nil && errors.Is(r.err, context.Canceled):
			// Stopped while still starting (creating its consumer, say):
			// a clean stop like any other.
		case r.err != nil:
			errs = append(errs, fmt.Errorf("running %s: %w", r.name, r.err))
		case ctx.Err() == nil && len(errs) == 0:
			errs = append(errs, fmt.Errorf("running %s: stopped unexpectedly", r.name))
		}
	}
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: stopping the gateway, then draining the consumers")
	case r := <-done:
		collect(r)
		log.Error().Err(errors.Join(errs...)).Msg("a service stopped; shutting down the others")
	}

	// wait collects results until the named services have stopped, giving
	// each shutdown stage its own ShutdownTimeout.
	wait := func(names ...string) error {
		deadline := time.NewTimer(cfg.ShutdownTimeout)
		defer deadline.Stop()
		for {
			pending := false
			for _, n := range names {
				pending = pending || running[n]
			}
			if !pending {
				return nil
			}
			select {
			case r := <-done:
				collect(r)
			case <-deadline.C:
				return fmt.Errorf("shutting down: %s still running after %s", strings.Join(names, ", "), cfg.ShutdownTimeout)
			}
		}
	}
	stopGateway()
	if err := wait("gateway"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	stopConsumers()
	if err := wait("normalizer", "slack-sink"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	log.Info().Msg("services stopped")
	return errors.Join(errs...)
}

// connectFunc opens one named NATS connection.
type connectFunc func(name string) (*natsconn.Conn, error)

// startNATS starts the embedded server, or prepares connections to the
// external one, returning how to connect, how to stop, and (embedded only)
// whether JetStream can store.
func startNATS(cfg stackConfig, log zerolog.Logger) (connectFunc, func(), func(context.Context) error, error) {
	nlog := log.With().Str("component", "nats").Logger()
	if cfg.NATS.URL != "" {
		log.Info().Msg("using external nats from NATS_URL")
		connect := func(name string) (*natsconn.Conn, error) {
			return natsconn.Connect(name, cfg.NATS, nlog)
		}
		return connect, func() {}, nil, nil
	}

	storeDir := filepath.Join(cfg.DataDir, "jetstream")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("creating data directory: %w", err)
	}
	key, err := ensureNATSKey(cfg.DataDir, log)
	if err != nil {
		return nil, nil, nil, err
	}
	ecfg := embedded.Config{
		StoreDir:    storeDir,
		MonitorAddr: cfg.NATSMonitor,
		MaxPayload:  embeddedMaxPayload,
		User:        key,
		AllowRemote: cfg.NATSAllowRemote,
	}
	if cfg.NATSListen != listenOff {
		ecfg.ClientAddr = cfg.NATSListen
	}
	srv, err := embedded.Start(ecfg, nlog)
	if err != nil {
		return nil, nil, nil, err
	}
	ev := log.Info().Str("store", storeDir).Str("nkey_file", key.SeedFile())
	if u := srv.ClientURL(); u != "" {
		ev = ev.Str("client_url", u).Str("nats_cli", "ghnotify nats-context, then nats --context ghnotify stream ls")
	}
	ev.Msg("embedded nats with jetstream started; clients authenticate with the nkey in the data directory")
	connect := func(name string) (*natsconn.Conn, error) {
		return natsconn.Tracked(func(opts ...nats.Option) (*nats.Conn, error) {
			return srv.Connect(name, opts...)
		})
	}
	// Restart JetStream by itself once a write error (a full disk) is over.
	keepCtx, stopKeeping := context.WithCancel(context.Background())
	kept := make(chan struct{})
	go func() { srv.KeepStoring(keepCtx, storeCheckEvery, nlog); close(kept) }()
	shutdown := func() {
		stopKeeping()
		<-kept
		srv.Shutdown()
	}
	return connect, shutdown, func(context.Context) error { return srv.Health() }, nil
}

// NATSKeyFileName is the name of the embedded server's NKey user seed inside
// the data directory.
const NATSKeyFileName = "nats-user.nk"

// NATSKeyFilePath returns where `ghnotify run` keeps the embedded server's
// NKey user seed for a data directory.
func NATSKeyFilePath(dataDir string) string {
	return filepath.Join(dataDir, NATSKeyFileName)
}

// ensureNATSKey loads the embedded server's NKey user from the data
// directory, generating it on first start.
func ensureNATSKey(dataDir string, log zerolog.Logger) (*embedded.UserKey, error) {
	path := NATSKeyFilePath(dataDir)
	key, created, tightened, err := embedded.LoadOrCreateUserKey(path)
	if err != nil {
		return nil, err
	}
	if tightened {
		log.Warn().Str("file", path).Msg("nats key file was readable by others; restricted it to its owner (0600)")
	}
	if created {
		log.Info().Str("file", path).Str("public_key", key.PublicKey()).Msg("generated the embedded nats server's nkey user")
	}
	return key, nil
}

// storeCheckEvery is how often the embedded server's ability to store is
// checked, and a JetStream stopped by a write error restarted.
const storeCheckEvery = 2 * time.Second

// shellQuote quotes a path for a shell command line when it needs it.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// serveConsole mounts the web console on the process's operations address
// (which the gateway serves) when the configuration says it is served
// there: the deliveries, traces and dead letters in JetStream, the routes
// the sink has in force, the inbox of its console destinations, and the
// normalizer for the routes tester.
func serveConsole(cfg *stackConfig, js jetstream.JetStream, log zerolog.Logger) {
	gops := cfg.Gateway.Ops
	if !gops.Enabled() {
		return
	}
	addr := gops.Addr
	if gops.Listener != nil {
		addr = gops.Listener.Addr().String()
	}
	if on, err := cfg.Sink.WebConsole.Serve(addr); !on || err != nil {
		log.Info().Str("why", cfg.Sink.WebConsole.Why(addr)).Msg("web console not served")
		return
	}
	tables := &webconsole.Tables{}
	prev := cfg.Sink.OnRoutes
	cfg.Sink.OnRoutes = func(t *routes.Table) {
		tables.Set(t)
		if prev != nil {
			prev(t)
		}
	}
	if cfg.Sink.Inbox == nil {
		cfg.Sink.Inbox = slack.NewInbox(200)
	}
	store := &webconsole.Store{JS: js}
	cfg.Gateway.Ops.Console = webconsole.New(webconsole.Sources{
		Deliveries: store, Payloads: store, DeadLetters: store.DeadLetters(), Changes: store,
		Routes: tables, Inbox: cfg.Sink.Inbox, Normalize: normalize.Normalize,
	}, webconsole.Options{Token: cfg.Sink.WebConsole.Token, Log: log.With().Str("component", "console").Logger()})
}
