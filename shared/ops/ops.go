// Package ops serves a service's operations endpoints (/metrics, /healthz,
// /readyz and, when enabled, /debug/pprof/) on an address of their own,
// loopback by default, apart from any public port.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

// Off, as the address, serves no operations endpoint.
const Off = "off"

// Default operations addresses: one per service, so that services on one
// host do not clash, and one for `ghnotify run`, which serves the whole
// process's metrics on one endpoint.
const (
	DefaultGatewayAddr    = "127.0.0.1:9090"
	DefaultNormalizerAddr = "127.0.0.1:9091"
	DefaultSinkAddr       = "127.0.0.1:9092"
	DefaultRunAddr        = "127.0.0.1:9093"
)

// Config says where the operations endpoints are served.
type Config struct {
	// Addr is the host:port to listen on (GHNOTIFY_OPS_ADDR), or Off.
	Addr string
	// Pprof serves net/http/pprof under /debug/pprof/ (GHNOTIFY_PPROF).
	Pprof bool
	// Listener, when set, is used instead of listening on Addr (tests).
	Listener net.Listener
	// OnListen, when set, is called with the listening address.
	OnListen func(net.Addr)
	// Console, when set, is the web console, served under /console/
	// (and / redirects to it). It checks its own access (token, host).
	Console http.Handler
}

// ConsolePrefix is where Config.Console is served.
const ConsolePrefix = "/console/"

// FromEnv reads GHNOTIFY_OPS_ADDR (default def) and GHNOTIFY_PPROF.
func FromEnv(e *config.Env, def string) Config {
	c := Config{Addr: e.String("GHNOTIFY_OPS_ADDR", def), Pprof: e.Bool("GHNOTIFY_PPROF", false)}
	if err := c.Validate(); err != nil {
		e.Fail(err)
	}
	return c
}

// Enabled reports whether the endpoints are served.
func (c Config) Enabled() bool { return c.Listener != nil || c.Addr != "" && c.Addr != Off }

// Validate checks the address.
func (c Config) Validate() error {
	if c.Listener != nil || c.Addr == "" || c.Addr == Off {
		return nil
	}
	_, port, err := net.SplitHostPort(c.Addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("GHNOTIFY_OPS_ADDR must be host:port or %q: %q", Off, c.Addr)
	}
	return nil
}

// Endpoints are what the operations server answers.
type Endpoints struct {
	// Metrics serves /metrics.
	Metrics http.Handler
	// Ready answers /readyz: nil error is ready. Nil means always ready
	// once serving.
	Ready func(ctx context.Context) error
}

type status struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func writeStatus(w http.ResponseWriter, code int, s status) {
	b, _ := json.Marshal(s)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// Handler returns the operations endpoints.
func Handler(pprofOn bool, ep Endpoints) http.Handler {
	mux := http.NewServeMux()
	if ep.Metrics != nil {
		mux.Handle("GET /metrics", ep.Metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, status{Status: "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ep.Ready != nil {
			if err := ep.Ready(r.Context()); err != nil {
				writeStatus(w, http.StatusServiceUnavailable, status{Status: "not ready", Error: err.Error()})
				return
			}
		}
		writeStatus(w, http.StatusOK, status{Status: "ready"})
	})
	if pprofOn {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Server is a running operations server.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// Start listens and serves the endpoints in the background. With the
// endpoints off it returns a nil *Server, whose methods do nothing.
func Start(c Config, ep Endpoints, log zerolog.Logger) (*Server, error) {
	if !c.Enabled() {
		return nil, nil
	}
	ln := c.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", c.Addr); err != nil {
			return nil, fmt.Errorf("listening on GHNOTIFY_OPS_ADDR %s: %w", c.Addr, err)
		}
	}
	h := Handler(c.Pprof, ep)
	if c.Console != nil {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.Handle(ConsolePrefix, c.Console)
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, ConsolePrefix, http.StatusSeeOther)
		})
		h = mux
	}
	s := &Server{ln: ln, served: make(chan error, 1), srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A CPU profile or trace takes as long as it is asked to.
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       stdlog.New(log.With().Str("component", "ops-http").Logger(), "", 0),
	}}
	go func() { s.served <- s.srv.Serve(ln) }()
	log.Info().Str("ops_addr", ln.Addr().String()).Bool("pprof", c.Pprof).Msg("operations endpoints listening (/metrics, /healthz, /readyz)")
	if c.Console != nil {
		log.Info().Str("url", "http://"+ln.Addr().String()+ConsolePrefix).Msg("web console listening: deliveries, dead letters, routes and the inbox")
	}
	if c.OnListen != nil {
		c.OnListen(ln.Addr())
	}
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr {
	if s == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the server gracefully within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutting down operations server: %w", err)
	}
	return nil
}
