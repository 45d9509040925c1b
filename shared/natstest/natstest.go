// Package natstest starts an in-process NATS server with JetStream for
// tests, on a random port, with ghnotify's streams and buckets provisioned.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats-server/v2/server"
	natsserver "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options returns server options for a JetStream server on a random port
// storing under dir.
func Options(dir string) *server.Options {
	opts := natsserver.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = dir
	opts.MaxPayload = 32 << 20
	return &opts
}

// Server is a test server and a client connected to it.
type Server struct {
	Srv  *server.Server
	Opts *server.Options
	NC   *nats.Conn
	JS   jetstream.JetStream
}

// Start runs a JetStream server for the test, connects to it and provisions
// ghnotify's streams and buckets. Everything stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with the server options changed by adjust first (when
// not nil), e.g. a smaller max_payload for a test of what exceeds it.
func StartWith(t testing.TB, adjust func(*server.Options)) *Server {
	t.Helper()
	opts := Options(t.TempDir())
	if adjust != nil {
		adjust(opts)
	}
	srv := natsserver.RunServer(opts)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	s := &Server{Srv: srv, Opts: opts}
	s.NC, s.JS = Connect(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provision.Ensure(ctx, s.JS, provision.Defaults()); err != nil {
		t.Fatalf("provisioning: %v", err)
	}
	return s
}

// Restart stops the server and starts it again on the same port and store,
// as after a crash or an upgrade. Existing clients reconnect by themselves.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.Srv = natsserver.RunServer(s.Opts)
	t.Cleanup(func() {
		s.Srv.Shutdown()
		s.Srv.WaitForShutdown()
	})
}

// Stop shuts the server down, keeping its store, so that a later Restart
// brings the same data back.
func (s *Server) Stop() {
	if s.Opts.Port == -1 {
		s.Opts.Port = s.Srv.Addr().(interface{ Port() int }).Port()
	}
	s.Srv.Shutdown()
	s.Srv.WaitForShutdown()
}

// Connect opens a client that reconnects forever, with extra options such
// as credentials; it is closed when the test ends.
func Connect(t testing.TB, url string, extra ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, extra...)...)
	if err != nil {
		t.Fatalf("connecting to test nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("creating jetstream context: %v", err)
	}
	return nc, js
}

// WaitFor polls cond every 10 ms until it is true or the deadline passes,
// then fails the test with msg. Tests synchronise with it instead of sleeping.
func WaitFor(t testing.TB, deadline time.Duration, msg string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", deadline, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
