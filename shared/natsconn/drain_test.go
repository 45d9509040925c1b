package natsconn

import (
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// TestDrainAndWaitFlushesPending publishes without waiting, then drains:
// every message must have reached the subscriber once DrainAndWait returns.
func TestDrainAndWaitFlushesPending(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	got := make(chan *nats.Msg, 1000)
	sub, err := s.NC.ChanSubscribe("drain.test", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := s.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := Connect("drain-test", Config{URL: s.Srv.ClientURL()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if err := c.Publish("drain.test", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DrainAndWait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !c.IsClosed() {
		t.Fatal("connection not closed after DrainAndWait")
	}
	natstest.WaitFor(t, 10*time.Second, "500 messages", func() bool { return len(got) == 500 })
	// Draining a closed connection is not an error.
	if err := c.DrainAndWait(time.Second); err != nil {
		t.Fatalf("second DrainAndWait: %v", err)
	}
}

func TestOptionsRefuseMissingNKeyFile(t *testing.T) {
	t.Parallel()
	if _, err := Options("x", Config{NKeyFile: "/nonexistent/seed.nk"}, zerolog.Nop()); err == nil {
		t.Fatal("Options accepted a missing nkey seed file")
	}
}
