// Package embedded runs a NATS server with JetStream inside the ghnotify
// process, for the all-in-one `ghnotify run`.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// MaxPayload is the embedded server's max_payload. It is above GitHub's
// 25 MiB payload cap so the gateway can store every delivery inline.
const MaxPayload = 32 << 20

// Config configures the embedded server.
type Config struct {
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	// ClientAddr is host:port where the server also listens for external
	// clients such as the nats CLI; empty means in-process connections only.
	// Port 0 picks a free port. Start refuses to listen without User, and on
	// other than a loopback address without AllowRemote.
	ClientAddr string
	// MonitorAddr is host:port of the HTTP monitoring endpoint; empty means
	// off. It has no authentication, so it too must be on a loopback address
	// unless AllowRemote is set.
	MonitorAddr string
	// User is the NKey user every client must authenticate as, in-process
	// connections included. Nil admits anyone, and is allowed only without a
	// ClientAddr (no client but this process can reach the server then).
	User *UserKey
	// AllowRemote permits ClientAddr and MonitorAddr on addresses other
	// hosts can reach; Start logs a warning when it is used.
	AllowRemote bool
	// MaxPayload overrides MaxPayload when non-zero.
	MaxPayload int32
	// ReadyTimeout bounds the wait for the server to accept connections.
	ReadyTimeout time.Duration
	// WriteDeadline bounds a write to one client before the server drops
	// it; zero keeps the NATS server's default (10 s).
	WriteDeadline time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	srv  *server.Server
	user *UserKey
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config, log zerolog.Logger) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("starting embedded nats: store directory is empty")
	}
	opts := &server.Options{
		ServerName: "ghnotify",
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: MaxPayload,
		NoSigs:     true,
	}
	if cfg.MaxPayload > 0 {
		opts.MaxPayload = cfg.MaxPayload
	}
	if cfg.WriteDeadline > 0 {
		opts.WriteDeadline = cfg.WriteDeadline
	}
	if cfg.User != nil {
		opts.Nkeys = []*server.NkeyUser{{Nkey: cfg.User.PublicKey()}}
	} else if cfg.ClientAddr != "" {
		return nil, fmt.Errorf("starting embedded nats: refusing to listen for clients on %s without credentials", cfg.ClientAddr)
	}
	if err := checkReach(cfg, log); err != nil {
		return nil, err
	}
	if err := checkStart(cfg); err != nil {
		return nil, err
	}
	if cfg.ClientAddr == "" {
		opts.DontListen = true
	} else {
		host, port, err := splitHostPort(cfg.ClientAddr)
		if err != nil {
			return nil, fmt.Errorf("parsing nats client address: %w", err)
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	if cfg.MonitorAddr != "" {
		host, port, err := splitHostPort(cfg.MonitorAddr)
		if err != nil {
			return nil, fmt.Errorf("parsing nats monitor address: %w", err)
		}
		opts.HTTPHost, opts.HTTPPort = host, port
		if port == 0 {
			opts.HTTPPort = server.RANDOM_PORT
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("creating embedded nats: %w", err)
	}
	ns.SetLoggerV2(&logAdapter{log: log.With().Str("component", "nats").Logger()}, false, false, false)
	go ns.Start()
	wait := cfg.ReadyTimeout
	if wait == 0 {
		wait = 30 * time.Second
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, fmt.Errorf("starting embedded nats: not ready after %s (is %s in use?)", wait, cfg.ClientAddr)
	}
	return &Server{srv: ns, user: cfg.User}, nil
}

// checkReach refuses addresses other hosts can reach unless cfg.AllowRemote,
// and warns when it allows them.
func checkReach(cfg Config, log zerolog.Logger) error {
	for _, a := range []struct{ name, addr string }{{"client", cfg.ClientAddr}, {"monitor", cfg.MonitorAddr}} {
		if a.addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			return fmt.Errorf("parsing nats %s address: %w", a.name, err)
		}
		if IsLoopback(host) {
			continue
		}
		if !cfg.AllowRemote {
			return fmt.Errorf("starting embedded nats: the %s address %s is reachable from other hosts; "+
				"use a loopback address such as 127.0.0.1, or allow it explicitly (GHNOTIFY_NATS_ALLOW_REMOTE=true)", a.name, a.addr)
		}
		msg := "embedded nats listens for clients on an address other hosts can reach, without TLS: credentials are required, but messages cross the network in clear text"
		if a.name == "monitor" {
			msg = "embedded nats monitoring listens on an address other hosts can reach; it has no authentication and shows connections, subscriptions and stream statistics"
		}
		log.Warn().Str("addr", a.addr).Msg(msg)
	}
	return nil
}

// IsLoopback reports whether host (of a host:port) is only reachable from
// this machine: "localhost" or a loopback IP. An empty host means every
// interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClientURL is the URL external clients use, or "" when the server does not listen.
func (s *Server) ClientURL() string {
	if s.srv.Addr() == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Connect opens an in-process client connection to the server, as
// Config.User when there is one.
func (s *Server) Connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.InProcessServer(s.srv), nats.MaxReconnects(-1)}
	if s.user != nil {
		opts = append(opts, s.user.Option())
	}
	opts = append(opts, extra...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting in-process to embedded nats: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// NATS returns the underlying server, for tests.
func (s *Server) NATS() *server.Server { return s.srv }

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

type logAdapter struct{ log zerolog.Logger }

func (l *logAdapter) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l *logAdapter) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l *logAdapter) Fatalf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l *logAdapter) Errorf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l *logAdapter) Debugf(format string, v ...any)  { l.log.Debug().Msgf(format, v...) }
func (l *logAdapter) Tracef(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }
