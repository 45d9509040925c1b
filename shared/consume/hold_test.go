package consume_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// TestHeldDeliveriesDoNotCount hands a message back untried (Hold) many
// more times than MaxDeliver allows, as the sink does while a destination
// is down, then fails it for real: only the real failures count, so it is
// dead-lettered after exactly MaxDeliver of them, never by the holds.
func TestHeldDeliveriesDoNotCount(t *testing.T) {
	s := natstest.Start(t)
	const holds, maxDeliver = 7, 3
	var deliveries, failures atomic.Int32
	h := func(context.Context, jetstream.Msg) error {
		if deliveries.Add(1) <= holds {
			return consume.Hold(errors.New("destination down"), time.Now().Add(5*time.Millisecond))
		}
		failures.Add(1)
		return errors.New("destination refused")
	}
	settler := &consume.Settler{
		Stage: "test", DLQ: &deadletter.Publisher{JS: s.JS}, MaxDeliver: maxDeliver,
		Backoff: func(uint64) time.Duration { return 5 * time.Millisecond }, Log: zerolog.Nop(),
	}
	cons := startRun(t, s, h, settler, "github.raw.held")
	stream := waitSettled(t, s, cons, 1)
	if got := failures.Load(); got != maxDeliver {
		t.Errorf("dead-lettered after %d real failures, want %d (holds must not count)", got, maxDeliver)
	}
	if got := deliveries.Load(); got != holds+maxDeliver {
		t.Errorf("handler ran %d times, want %d", got, holds+maxDeliver)
	}
	m, err := stream.GetLastMsgForSubject(context.Background(), "ghnotify.dlq.test.github.raw.held")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(deadletter.HeaderReason); !strings.HasPrefix(got, "gave up after 3 deliveries: destination refused") {
		t.Errorf("reason = %q", got)
	}
}

// TestHeldTooLongIsDeadLettered holds a message for longer than MaxHold
// (on the settler's clock): it is dead-lettered with that reason rather
// than left to age out of the stream.
func TestHeldTooLongIsDeadLettered(t *testing.T) {
	s := natstest.Start(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	var deliveries atomic.Int32
	h := func(context.Context, jetstream.Msg) error {
		if deliveries.Add(1) == 3 {
			// Two held deliveries later, a day passes.
			clock.Add(int64(25 * time.Hour))
		}
		return consume.Hold(errors.New("destination down"), time.Unix(0, clock.Load()).Add(5*time.Millisecond))
	}
	settler := &consume.Settler{
		Stage: "test", DLQ: &deadletter.Publisher{JS: s.JS}, MaxDeliver: 2, MaxHold: 24 * time.Hour,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Log: zerolog.Nop(),
	}
	cons := startRun(t, s, h, settler, "github.raw.waiting")
	stream := waitSettled(t, s, cons, 1)
	if got := deliveries.Load(); got != 3 {
		t.Errorf("handler ran %d times, want 3 (dead-lettered once held past MaxHold, not by MaxDeliver 2)", got)
	}
	m, err := stream.GetLastMsgForSubject(context.Background(), "ghnotify.dlq.test.github.raw.waiting")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(deadletter.HeaderReason); !strings.HasPrefix(got, "gave up after waiting 24h0m0s: destination down") {
		t.Errorf("reason = %q", got)
	}
}

// TestHoldOnlyAtTheTop checks that a Hold joined with a real failure (one
// destination down, another failing) is an ordinary, counted retry.
func TestHoldOnlyAtTheTop(t *testing.T) {
	until := time.Now().Add(time.Minute)
	held := consume.Hold(errors.New("down"), until)
	if !consume.IsHold(held) || !consume.RetryTime(held).Equal(until) {
		t.Fatalf("Hold: IsHold %v, RetryTime %v", consume.IsHold(held), consume.RetryTime(held))
	}
	joined := consume.RetryUntil(errors.Join(held, errors.New("503")), until)
	if consume.IsHold(joined) {
		t.Error("a Hold joined with a real failure counts as held")
	}
	if consume.Hold(nil, until) != nil {
		t.Error("Hold(nil) is not nil")
	}
}
