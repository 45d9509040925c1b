package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats-server/v2/server"
	natsserver "github.com/nats-io/nats-server/v2/test"
)

// startServer runs a JetStream server with opts and provisions it, returning
// its client URL.
func startServer(t *testing.T, opts *server.Options) string {
	t.Helper()
	srv := natsserver.RunServer(opts)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	_, js := natstest.Connect(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provision.Ensure(ctx, js, provision.Defaults()); err != nil {
		t.Fatal(err)
	}
	return srv.ClientURL()
}
