package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/services/slack-sink/webconsole"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// LoadRoutes returns the routing table cfg describes: the routes file if
// set; otherwise a route sending the core kinds to SLACK_WEBHOOK_URL; and
// without that a console destination printing every event.
func LoadRoutes(cfg Config) (*routes.Table, error) {
	opts := routes.Options{Lookup: cfg.Lookup, Types: DestinationTypes(cfg), Burst: cfg.Burst}
	if cfg.RatePerMinute > 0 {
		opts.Rate = float64(cfg.RatePerMinute) / 60
	}
	switch {
	case cfg.RoutesFile != "":
		return routes.Load(cfg.RoutesFile, opts)
	case cfg.WebhookURL.IsSet():
		return routes.DefaultWebhook(cfg.WebhookURL, opts)
	default:
		return routes.DefaultConsole(opts)
	}
}

// sinkMaxAckPending is the least MaxAckPending of the sink's consumer.
const sinkMaxAckPending = 1000

// Run consumes canonical events until ctx ends. It refuses to start when
// the routes file is invalid, provisions JetStream, then posts each event
// to its destinations; on shutdown it stops pulling, finishes in-flight
// posts (bounded by ShutdownTimeout) and drains the consumer. Stopped
// while still starting (ctx cancelled), it returns nil: a clean stop.
func Run(ctx context.Context, cfg Config, nc *nats.Conn, log zerolog.Logger) (err error) {
	defer func() {
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			log.Info().Err(err).Msg("slack sink stopped while starting")
			err = nil
		}
	}()
	cfg = cfg.withDefaults()
	consoleSetup := serveConsole(&cfg, nc, log)
	table, err := LoadRoutes(cfg)
	if err != nil {
		return err
	}
	if cfg.OnRoutes != nil {
		cfg.OnRoutes(table)
	}
	if consoleSetup != nil {
		consoleSetup()
	}
	for _, w := range table.Warnings {
		log.Warn().Msg(w)
	}
	var consuming atomic.Bool
	opsSrv, err := startOps(cfg, nc, &consuming, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := opsSrv.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("stopping operations endpoints")
		}
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	if err := provision.WaitEnsure(ctx, js, cfg.Provision, log); err != nil {
		return err
	}
	kvs := map[string]jetstream.KeyValue{}
	for _, b := range []string{provision.BucketSent, provision.BucketThreads} {
		kv, err := js.KeyValue(ctx, b)
		if err != nil {
			return fmt.Errorf("opening bucket %s: %w", b, err)
		}
		kvs[b] = kv
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, provision.StreamEvents, jetstream.ConsumerConfig{
		Durable:       provision.ConsumerSlackSink,
		Description:   "Slack sink: posts canonical events to Slack.",
		FilterSubject: subject.EventAll,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    provision.ConsumerMaxDeliver, // the settler counts cfg.MaxDeliver
		// Events handed back while a destination is down stay pending on
		// the server until their redelivery: room for many of them keeps
		// the other destinations' events flowing meanwhile.
		MaxAckPending: max(sinkMaxAckPending, cfg.MaxInFlight*2),
	})
	if err != nil {
		return fmt.Errorf("creating consumer %s: %w", provision.ConsumerSlackSink, err)
	}

	held, err := openHeld(ctx, cfg, js, log)
	if err != nil {
		return err
	}
	eng := deliver.New(ctx, deliver.Config{
		MaxInFlight: cfg.MaxInFlight, PostAttempts: cfg.PostAttempts, MaxDeliver: cfg.MaxDeliver, MaxHold: cfg.MaxHold, AckWait: cfg.AckWait,
		Sleep: cfg.Sleep, Now: cfg.Now, Backoff: cfg.Backoff,
	}, table, deliver.Stores{
		Sent: provision.TTLBucket{KeyValue: kvs[provision.BucketSent], JS: js, Bucket: provision.BucketSent}, Threads: kvs[provision.BucketThreads],
		Trace: trace.NewStore(js), DLQ: &deadletter.Publisher{JS: js},
		Held: held,
	}, cfg.Registerer, log)
	// Held events and digests are released by one instance when due, and
	// posted by the engine like any other event (see held.go).
	releasedCons, releasing, err := held.serve(ctx, cfg, eng.Table)
	if err != nil {
		return err
	}
	released, err := releasedCons.Consume(eng.Handle, jetstream.PullMaxMessages(cfg.MaxInFlight))
	if err != nil {
		return fmt.Errorf("consuming released events: %w", err)
	}
	go watchRoutes(ctx, cfg, eng, log)

	// When ctx ends, posts in flight finish and events not yet posted go
	// back to JetStream at once for the next instance.
	closed, err := consume.Serve(ctx, cons, eng.Handle, consume.Hooks{
		Started: func() {
			log.Info().Str("routes", table.File).Int("routes_count", len(table.Routes)).Strs("destinations", table.DestinationNames()).Msg("slack sink consuming")
			consuming.Store(true)
		},
		Stopping: func() {
			consuming.Store(false)
			eng.Stop()
			released.Drain()
		},
	}, jetstream.PullMaxMessages(cfg.MaxInFlight))
	if err != nil {
		eng.Stop()
		released.Stop()
		return err
	}
	bothClosed := make(chan struct{})
	go func() {
		<-closed
		<-released.Closed()
		close(bothClosed)
	}()
	if !eng.Finish(bothClosed, cfg.ShutdownTimeout) {
		log.Warn().Dur("timeout", cfg.ShutdownTimeout).Msg("in-flight posts did not finish; they will be redelivered")
	}
	<-releasing
	log.Info().Msg("slack sink stopped")
	return nil
}

// startOps serves /metrics (the registry the sink's metrics are in),
// /healthz and /readyz (ready while consuming with NATS connected and the
// sent-records bucket, which it writes after every post, has a leader) on
// cfg.Ops, when it is set.
func startOps(cfg Config, nc *nats.Conn, consuming *atomic.Bool, log zerolog.Logger) (*ops.Server, error) {
	metrics := promhttp.Handler()
	if g, ok := cfg.Registerer.(prometheus.Gatherer); ok {
		metrics = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	sent := &provision.LeaderCheck{JS: js, Stream: "KV_" + provision.BucketSent}
	return ops.Start(cfg.Ops, ops.Endpoints{Metrics: metrics, Ready: func(ctx context.Context) error {
		switch {
		case !consuming.Load():
			return errors.New("not consuming yet: waiting for nats and the streams")
		case !nc.IsConnected():
			return errors.New("nats is not connected")
		}
		return sent.Check(ctx)
	}}, log)
}

// watchRoutes reloads the routes file on SIGHUP and, when enabled, when
// the file changes, keeping the old rules when the new file is invalid.
func watchRoutes(ctx context.Context, cfg Config, eng *deliver.Engine, log zerolog.Logger) {
	if cfg.RoutesFile == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var changed <-chan fsnotify.Event
	var watchErrs <-chan error
	if cfg.WatchRoutes {
		w, err := fsnotify.NewWatcher()
		if err == nil {
			defer w.Close()
			// Watch the directory: editors replace files by renaming.
			if err = w.Add(filepath.Dir(cfg.RoutesFile)); err == nil {
				changed, watchErrs = w.Events, w.Errors
			}
		}
		if err != nil {
			log.Warn().Err(err).Msg("watching the routes file failed; reload with SIGHUP")
		}
	}
	base := filepath.Clean(cfg.RoutesFile)
	log.Info().Str("routes", cfg.RoutesFile).Bool("on_change", changed != nil).Msg("routes reload on SIGHUP armed")
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload(cfg, eng, log, "SIGHUP")
		case ev := <-changed:
			if filepath.Clean(ev.Name) == base && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				reload(cfg, eng, log, "file changed")
			}
		case err := <-watchErrs:
			log.Warn().Err(err).Msg("routes file watcher error")
		}
	}
}

// reload loads the routes file again; an invalid file leaves the rules as they were.
func reload(cfg Config, eng *deliver.Engine, log zerolog.Logger, why string) {
	t, err := LoadRoutes(cfg)
	if err != nil {
		var le *routes.LoadError
		if errors.As(err, &le) || errors.Is(err, os.ErrNotExist) {
			log.Error().Err(err).Str("trigger", why).Msg("routes file invalid; keeping the previous rules")
			return
		}
		log.Error().Err(err).Str("trigger", why).Msg("reloading routes failed; keeping the previous rules")
		return
	}
	eng.SetTable(t)
	if cfg.OnRoutes != nil {
		cfg.OnRoutes(t)
	}
	log.Info().Str("trigger", why).Int("routes_count", len(t.Routes)).Msg("routes reloaded")
}

// serveConsole prepares the web console of a standalone sink, on its
// operations address, when cfg.WebConsole says it is served there: an
// inbox for the console destinations and the routes in force. It returns
// nil when there is no console, or else what finishes it once the routes
// are loaded. Its routes tester normalizes pasted payloads with the
// normalizer's own package (pure code: no service is involved). (ghnotify run serves one console for the whole process
// itself, and gives the sink no operations address.)
func serveConsole(cfg *Config, nc *nats.Conn, log zerolog.Logger) func() {
	if !cfg.Ops.Enabled() || cfg.Ops.Console != nil {
		return nil
	}
	addr := cfg.Ops.Addr
	if cfg.Ops.Listener != nil {
		addr = cfg.Ops.Listener.Addr().String()
	}
	if on, err := cfg.WebConsole.Serve(addr); !on || err != nil {
		log.Info().Str("why", cfg.WebConsole.Why(addr)).Msg("web console not served")
		return nil
	}
	if cfg.Inbox == nil {
		cfg.Inbox = slack.NewInbox(200)
	}
	tables := &webconsole.Tables{}
	prev := cfg.OnRoutes
	cfg.OnRoutes = func(t *routes.Table) {
		tables.Set(t)
		if prev != nil {
			prev(t)
		}
	}
	return func() {
		js, err := jetstream.New(nc)
		if err != nil {
			log.Warn().Err(err).Msg("web console not served: creating jetstream context")
			return
		}
		store := &webconsole.Store{JS: js}
		cfg.Ops.Console = webconsole.New(webconsole.Sources{
			Deliveries: store, Payloads: store, DeadLetters: store.DeadLetters(), Changes: store,
			Routes: tables, Inbox: cfg.Inbox, Normalize: normalize.Normalize,
		}, webconsole.Options{Token: cfg.WebConsole.Token, Log: log.With().Str("component", "console").Logger()})
	}
}
