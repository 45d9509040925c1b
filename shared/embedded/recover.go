package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// probeSize is how much the store check writes: enough to need a free
// block or two, so that a full disk fails it.
const probeSize = 64 << 10

// checkStart fails at once, with the cause, when the server could not
// start: an unwritable store directory or a client or monitor address
// already in use. Without it nats-server only logs the cause and never
// becomes ready.
func checkStart(cfg Config) error {
	if err := os.MkdirAll(cfg.StoreDir, 0o700); err != nil {
		return fmt.Errorf("starting embedded nats: creating store directory: %w", err)
	}
	if err := probeWritable(cfg.StoreDir); err != nil {
		return fmt.Errorf("starting embedded nats: store directory %s is not writable: %w", cfg.StoreDir, err)
	}
	for _, a := range []struct{ what, addr string }{{"client", cfg.ClientAddr}, {"monitor", cfg.MonitorAddr}} {
		if a.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			return fmt.Errorf("starting embedded nats: %s address %s: %w", a.what, a.addr, err)
		}
		_ = ln.Close()
	}
	return nil
}

// probeWritable writes, syncs and removes a file of probeSize bytes in dir.
func probeWritable(dir string) (err error) {
	f, err := os.CreateTemp(dir, ".ghnotify-probe-*")
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, f.Close(), os.Remove(f.Name()))
	}()
	if _, err := f.Write(make([]byte, probeSize)); err != nil {
		return err
	}
	return f.Sync()
}

// Health reports whether the embedded JetStream can store messages: it is
// enabled and no stream holds a write error. nats-server keeps a stream's
// write error (such as "no space left on device") until JetStream restarts,
// and disables JetStream by itself on a permission error; in both cases
// publishes get no PubAck although the server is up.
func (s *Server) Health() error {
	if !s.srv.JetStreamEnabled() {
		return errors.New("embedded jetstream is disabled")
	}
	h := s.srv.Healthz(nil)
	if h.StatusCode != 0 && h.StatusCode != 200 || h.Error != "" {
		return fmt.Errorf("embedded jetstream cannot store: %s", h.Error)
	}
	return nil
}

// KeepStoring checks Health every interval until ctx ends. When JetStream
// disabled itself or a stream holds a write error, and the store directory
// takes writes again (space came back, permissions were fixed), it restarts
// JetStream, which reopens every stream from disk without the error; the
// in-process connections stay open. Stop it (cancel ctx and wait for it to
// return) before calling Shutdown.
func (s *Server) KeepStoring(ctx context.Context, interval time.Duration, log zerolog.Logger) {
	jsc := s.srv.JetStreamConfig()
	if jsc == nil {
		log.Error().Msg("embedded jetstream is not enabled; it will not be restarted after a write error")
		return
	}
	// EnableJetStream places the store under <StoreDir>/jetstream itself.
	restartCfg := *jsc
	restartCfg.StoreDir = filepath.Dir(jsc.StoreDir)
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.Health()
		if err == nil {
			if failing {
				log.Info().Msg("embedded jetstream stores again")
			}
			failing = false
			continue
		}
		if !failing {
			log.Error().Err(err).Msg("embedded jetstream cannot store; deliveries are refused until the store directory takes writes again")
			failing = true
		}
		if s.srv.JetStreamEnabled() && !strings.Contains(err.Error(), "write error") {
			continue
		}
		if perr := probeWritable(jsc.StoreDir); perr != nil {
			log.Debug().Err(perr).Msg("embedded jetstream store directory still cannot be written")
			continue
		}
		if rerr := s.restartJetStream(&restartCfg); rerr != nil {
			log.Error().Err(rerr).Msg("restarting embedded jetstream failed; retrying")
			continue
		}
		log.Warn().Msg("embedded jetstream restarted after a write error")
	}
}

// restartJetStream stops JetStream, keeping everything on disk, and starts
// it again from the store.
func (s *Server) restartJetStream(cfg *server.JetStreamConfig) error {
	if s.srv.JetStreamEnabled() {
		if err := s.srv.ShutdownJetStream(); err != nil {
			return fmt.Errorf("stopping jetstream: %w", err)
		}
	}
	// EnableJetStream replaces the server's JetStream API queues without a
	// lock, and the read loops of connected clients read them while
	// dispatching API requests (nats-server v2.15.2 jetstream_api.go,
	// setJetStreamExportSubs and apiDispatch). Taking every client's lock
	// once, as the connection list does, orders their last dispatch before
	// the replacement; without it, a client that asked for stream
	// information shortly before the write error (the gateway does, ten
	// times a second) races with the restart.
	if _, err := s.srv.Connz(&server.ConnzOptions{Limit: 1 << 20}); err != nil {
		return fmt.Errorf("listing connections before restarting jetstream: %w", err)
	}
	c := *cfg
	if err := s.srv.EnableJetStream(&c); err != nil {
		return fmt.Errorf("starting jetstream: %w", err)
	}
	return nil
}
