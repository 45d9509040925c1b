package gateway

import (
	"context"
	"testing"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natstest"
	natsserver "github.com/nats-io/nats-server/v2/test"
	"github.com/rs/zerolog"
)

// TestRunStoppedWhileStartingIsACleanStop checks that a gateway asked to
// stop while it still waits for JetStream (here a server without it)
// returns nil, as a stop after starting does, and not the context's error.
func TestRunStoppedWhileStartingIsACleanStop(t *testing.T) {
	t.Parallel()
	opts := natstest.Options(t.TempDir())
	opts.JetStream = false
	srv := natsserver.RunServer(opts)
	t.Cleanup(srv.Shutdown)
	nc, _ := natstest.Connect(t, srv.ClientURL())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Run(ctx, Config{Secrets: []config.Secret{testSecret}}, nc, zerolog.Nop()); err != nil {
		t.Fatalf("Run stopped while starting = %v, want nil", err)
	}
}
