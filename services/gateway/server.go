// Package gateway is ghnotify's HTTP receiver for GitHub webhooks: it
// verifies each delivery, stores it in the GHNOTIFY_RAW stream exactly once,
// and answers only after JetStream has acknowledged it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/gorilla/mux"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// WebhookPath is where GitHub delivers.
const WebhookPath = "/webhooks/github"

// readyCacheFor is how long a /readyz answer is reused.
const readyCacheFor = time.Second

// Run provisions JetStream, serves the gateway until ctx ends, then shuts
// the HTTP server down gracefully within cfg.ShutdownTimeout. It does not
// close nc.
func Run(ctx context.Context, cfg Config, nc *nats.Conn, log zerolog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()

	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout))
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	if err := provision.WaitEnsure(ctx, js, cfg.Provision, log); err != nil {
		if ctx.Err() != nil {
			log.Info().Err(err).Msg("gateway stopped while starting")
			return nil // asked to stop before we were ready: a clean stop
		}
		return err
	}
	allow, err := NewAllowlist(cfg.AllowedCIDRs, cfg.TrustedProxies)
	if err != nil {
		return err
	}

	if weak := weakSecrets(cfg.Secrets); len(weak) > 0 {
		log.Warn().Ints("secret_index", weak).Int("min_bytes", minSecretBytes).
			Msg("webhook secret shorter than 16 bytes: it can be guessed from one signed delivery; use a long random secret (openssl rand -hex 32)")
	}

	m := newMetrics(cfg.MetricsGatherer)
	horizon := cfg.Provision.DedupeHorizon
	if horizon <= 0 {
		horizon = provision.Defaults().DedupeHorizon
	}
	dedupe := NewDeduper(cfg.DedupeBodies, horizon, log)
	health := newStoreHealth()
	m.observeIndex(dedupe)
	traces := newTraceWriter(trace.NewStore(js), 1024, cfg.PublishTimeout, m, log)
	budget := newByteBudget(cfg.MaxInflightBytes)
	m.observeBudget(budget)
	sampler := newRefusalSampler(log, nil, refusalLogBurst, refusalLogInterval)
	wh := &webhookHandler{
		allow:    allow,
		verifier: NewVerifier(cfg.Secrets),
		insecure: cfg.InsecureSkipSignature,
		maxBody:  cfg.MaxBodyBytes,
		budget:   budget,
		retry:    strconv.Itoa(int((cfg.RetryAfter + time.Second - 1) / time.Second)),
		ingest: &Ingester{
			store:   NewPublisher(nc, js),
			dedupe:  dedupe,
			traces:  newTraceLimiter(traces, nil, m.traceSkipped),
			metrics: m,
			timeout: cfg.PublishTimeout,
			claims:  claimsFor(cfg.DedupeBodies),
			health:  health,
		},
		metrics: m,
		sampler: sampler,
		log:     log,
	}
	if cfg.InsecureSkipSignature {
		log.Warn().Msg("GHNOTIFY_INSECURE_SKIP_SIGNATURE is set: deliveries are accepted without a signature")
	}

	// The index follows the raw stream until the HTTP server has stopped.
	followCtx, stopFollow := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { dedupe.Follow(followCtx, js) })
	background.Go(func() {
		select {
		case <-dedupe.readyCh:
			log.Info().Uint64("raw_sequence", dedupe.LastSequence()).Uint64("snapshot_sequence", dedupe.RestoredFrom()).Int("keys", dedupe.Len()).Msg("dedupe index rebuilt from the raw stream")
		case <-followCtx.Done():
		}
	})
	background.Go(func() {
		tick := time.NewTicker(refusalLogInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				sampler.flush(false)
			case <-followCtx.Done():
				sampler.flush(true)
				return
			}
		}
	})
	defer func() {
		stopFollow()
		background.Wait()
	}()

	ready := &readiness{nc: nc, js: js, index: dedupe, store: health, storeCheck: cfg.StoreCheck}
	opsSrv, err := ops.Start(cfg.Ops, ops.Endpoints{Metrics: m.handler(), Ready: ready.check}, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := opsSrv.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("stopping operations endpoints")
		}
	}()

	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
		}
	}
	srv := newHTTPServer(cfg, routes(wh, m, ready), log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Int("secrets", wh.verifier.Len()).Bool("dedupe_bodies", cfg.DedupeBodies).
		Dur("dedupe_horizon", horizon).Int64("max_body_bytes", cfg.MaxBodyBytes).Int64("max_inflight_bytes", cfg.MaxInflightBytes).
		Msg("gateway listening")
	if cfg.OnListen != nil {
		cfg.OnListen(ln.Addr())
	}

	select {
	case err := <-served:
		traces.Wait()
		return fmt.Errorf("serving http: %w", err)
	case <-ctx.Done():
	}
	log.Info().Msg("gateway shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	traces.Wait()
	if err != nil {
		return fmt.Errorf("shutting down http server: %w", err)
	}
	return nil
}

// newHTTPServer returns the gateway's HTTP server with every timeout and
// the header size cap of cfg (already filled with defaults) set, so that no
// client can hold a connection or a request open indefinitely.
func newHTTPServer(cfg Config, h http.Handler, log zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
	}
}

// routes wires the gateway's public HTTP endpoints: the webhook, /healthz
// and /readyz. /metrics is served on the operations address only.
func routes(wh http.Handler, m *metrics, ready *readiness) http.Handler {
	return webhookFirst{webhook: wh, rest: otherRoutes(wh, m, ready)}
}

// webhookFirst sends POST /webhooks/github, the one route under load,
// straight to its handler, and every other request through the router,
// which matches each route's path and methods (and answers 404 and 405).
// The router costs a regular expression match and a copy of the request
// (to carry route variables the gateway has none of) per request.
type webhookFirst struct {
	webhook, rest http.Handler
}

func (h webhookFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == WebhookPath {
		h.webhook.ServeHTTP(w, r)
		return
	}
	h.rest.ServeHTTP(w, r)
}

func otherRoutes(wh http.Handler, m *metrics, ready *readiness) http.Handler {
	r := mux.NewRouter()
	r.Handle(WebhookPath, wh).Methods(http.MethodPost)
	r.MethodNotAllowedHandler = methodNotAllowed(m)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, response{Status: "ok"})
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready.check(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, response{Status: "not ready", Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, response{Status: "ready"})
	}).Methods(http.MethodGet, http.MethodHead)
	return r
}

// readiness answers whether the dedupe index is complete, NATS connected,
// the raw stream reachable with a leader and deliveries being stored (the last publish
// did not fail, and storeCheck, when set, passes), reusing an answer for
// readyCacheFor so that probes stay cheap.
type readiness struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	index      interface{ Ready() bool }
	store      *storeHealth
	storeCheck func(context.Context) error

	mu      sync.Mutex
	checked time.Time
	err     error
}

func (rd *readiness) check(ctx context.Context) error {
	if !rd.index.Ready() {
		return errors.New("dedupe index is still being rebuilt from the raw stream")
	}
	if !rd.nc.IsConnected() {
		return errors.New("nats is not connected")
	}
	if err := rd.store.check(); err != nil {
		return err
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.checked) < readyCacheFor {
		return rd.err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rd.err = nil
	// On a cluster the raw stream must have a leader: during an election
	// nothing can be stored, and a load balancer should send elsewhere.
	if err := provision.CheckLeader(ctx, rd.js, provision.StreamRaw); err != nil {
		rd.err = err
	} else if rd.storeCheck != nil {
		rd.err = rd.storeCheck(ctx)
	}
	rd.checked = time.Now()
	return rd.err
}
