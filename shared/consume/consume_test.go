package consume_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestBackoffGrowsAndCaps(t *testing.T) {
	t.Parallel()
	for attempt := uint64(1); attempt < 40; attempt++ {
		d := consume.Backoff(attempt)
		if d <= 0 || d > 5*time.Minute {
			t.Fatalf("Backoff(%d) = %v out of (0, 5m]", attempt, d)
		}
	}
	if consume.Backoff(1) > time.Second {
		t.Fatalf("first backoff %v above 1s", consume.Backoff(1))
	}
}

func TestPermanentAndRetryAfterWrap(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	if !consume.IsPermanent(consume.Permanent(base)) || !errors.Is(consume.Permanent(base), base) {
		t.Fatal("Permanent lost its mark or its cause")
	}
	if consume.IsPermanent(consume.RetryAfter(base, time.Second)) || consume.IsPermanent(base) {
		t.Fatal("non-permanent error reported permanent")
	}
	if consume.Permanent(nil) != nil || consume.RetryAfter(nil, time.Second) != nil {
		t.Fatal("wrapping nil must give nil")
	}
}

// TestRunSettles runs the consume loop over a real JetStream consumer: good
// messages are acked, a poison message is dead-lettered with its reason and
// original headers, a transient failure is retried until it succeeds, and a
// message failing on its last delivery is dead-lettered, not lost.
func TestRunSettles(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, jetstream.ConsumerConfig{
		Durable: "test", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 3, AckWait: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"github.raw.good", "github.raw.poison", "github.raw.flaky", "github.raw.hopeless", "github.raw.after"} {
		m := jetstreamMsg(subj)
		if _, err := s.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var flaky atomic.Int32
	h := func(_ context.Context, msg jetstream.Msg) error {
		mu.Lock()
		seen[msg.Subject()]++
		mu.Unlock()
		switch msg.Subject() {
		case "github.raw.poison":
			return consume.Permanent(errors.New("cannot parse"))
		case "github.raw.flaky":
			if flaky.Add(1) < 2 {
				return consume.RetryAfter(errors.New("not yet"), 10*time.Millisecond)
			}
		case "github.raw.hopeless":
			return errors.New("always failing")
		}
		return nil
	}
	settler := &consume.Settler{
		Stage: "test", DLQ: &deadletter.Publisher{JS: s.JS}, MaxDeliver: 3,
		Backoff: func(uint64) time.Duration { return 10 * time.Millisecond }, Log: zerolog.Nop(),
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- consume.Run(runCtx, cons, h, settler) }()

	dlq, err := s.JS.Stream(ctx, provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, "two dead letters and every message settled", func() bool {
		info, err := dlq.Info(ctx)
		if err != nil || info.State.Msgs != 2 {
			return false
		}
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["github.raw.good"] != 1 || seen["github.raw.after"] != 1 || seen["github.raw.poison"] != 1 {
		t.Errorf("deliveries = %v; want good, after and poison once each", seen)
	}
	if seen["github.raw.flaky"] != 2 || seen["github.raw.hopeless"] != 3 {
		t.Errorf("deliveries = %v; want flaky twice and hopeless three times", seen)
	}
	for _, tc := range []struct{ subj, reason string }{
		{"ghnotify.dlq.test.github.raw.poison", "cannot parse"},
		{"ghnotify.dlq.test.github.raw.hopeless", "gave up after 3 deliveries: always failing"},
	} {
		m, err := dlq.GetLastMsgForSubject(ctx, tc.subj)
		if err != nil {
			t.Fatalf("dead letter on %s: %v", tc.subj, err)
		}
		if got := m.Header.Get(deadletter.HeaderReason); got != tc.reason {
			t.Errorf("%s reason = %q, want %q", tc.subj, got, tc.reason)
		}
		if got := m.Header.Get("X-Test"); got != "kept" {
			t.Errorf("%s lost original header: %q", tc.subj, got)
		}
		if got := m.Header.Get(deadletter.HeaderOriginalMsgID); got == "" {
			t.Errorf("%s lost original Nats-Msg-Id", tc.subj)
		}
	}
}
