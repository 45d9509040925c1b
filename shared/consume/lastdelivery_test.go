package consume_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// flakyDLQ fails (or panics on) its first calls, then stores letters for real.
type flakyDLQ struct {
	next     consume.DeadLetterer
	failures int32
	panics   bool
	calls    atomic.Int32
}

func (f *flakyDLQ) Publish(ctx context.Context, l deadletter.Letter) error {
	if f.calls.Add(1) <= f.failures {
		if f.panics {
			panic("dead-letter store exploded")
		}
		return errors.New("dead-letter stream unavailable")
	}
	return f.next.Publish(ctx, l)
}

// startRun creates a durable consumer the way the services do (no MaxDeliver
// on the server), publishes subjects to the raw stream and runs the loop.
func startRun(t *testing.T, s *natstest.Server, h consume.Handler, settler *consume.Settler, subjects ...string) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, jetstream.ConsumerConfig{
		Durable: "test", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: provision.ConsumerMaxDeliver, AckWait: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range subjects {
		if _, err := s.JS.PublishMsg(ctx, jetstreamMsg(subj)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- consume.Run(ctx, cons, h, settler) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return cons
}

func waitSettled(t *testing.T, s *natstest.Server, cons jetstream.Consumer, deadLetters uint64) jetstream.Stream {
	t.Helper()
	ctx := t.Context()
	dlq, err := s.JS.Stream(ctx, provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d dead letters and every message settled", deadLetters), func() bool {
		info, err := dlq.Info(ctx)
		if err != nil || info.State.Msgs != deadLetters {
			return false
		}
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0 && ci.NumRedelivered == 0
	})
	return dlq
}

// TestDeadLetterFailingOnLastDeliveryIsNotLost fails every delivery of a
// message, and the dead-letter stream on the last allowed delivery and the
// ones after: the message must come back until its dead letter is stored,
// never vanish.
func TestDeadLetterFailingOnLastDeliveryIsNotLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		panics bool
	}{{"publish fails", false}, {"publish panics", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := natstest.Start(t)
			dlq := &flakyDLQ{next: &deadletter.Publisher{JS: s.JS}, failures: 3, panics: tc.panics}
			var deliveries atomic.Int32
			h := func(context.Context, jetstream.Msg) error {
				deliveries.Add(1)
				return errors.New("always failing")
			}
			settler := &consume.Settler{
				Stage: "test", DLQ: dlq, MaxDeliver: 2,
				Backoff: func(uint64) time.Duration { return 10 * time.Millisecond }, Log: zerolog.Nop(),
			}
			cons := startRun(t, s, h, settler, "github.raw.hopeless")
			stream := waitSettled(t, s, cons, 1)
			if got := dlq.calls.Load(); got != 4 {
				t.Errorf("dead-letterer called %d times, want 4 (3 failures, then stored)", got)
			}
			if got := deliveries.Load(); got != 5 {
				t.Errorf("handler ran %d times, want 5 (2 allowed deliveries, 3 more while dead-lettering failed)", got)
			}
			m, err := stream.GetLastMsgForSubject(context.Background(), "ghnotify.dlq.test.github.raw.hopeless")
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Header.Get(deadletter.HeaderReason); !strings.HasPrefix(got, "gave up after 5 deliveries: always failing") {
				t.Errorf("reason = %q", got)
			}
		})
	}
}

// TestPanickingHandlerIsDeadLettered feeds handlers that panic in different
// ways: each message is dead-lettered with the panic and where it happened,
// and the loop goes on with the messages behind it.
func TestPanickingHandlerIsDeadLettered(t *testing.T) {
	t.Parallel()
	var nilMap map[string]int
	var nilPtr *struct{ n int }
	cases := []struct {
		subj  string
		panic func()
		want  string
	}{
		{"github.raw.string", func() { panic("bad state") }, "panic: bad state"},
		{"github.raw.error", func() { panic(errors.New("wrapped failure")) }, "panic: wrapped failure"},
		{"github.raw.nilmap", func() { nilMap["x"] = 1 }, "assignment to entry in nil map"},
		{"github.raw.nilptr", func() { _ = nilPtr.n }, "nil pointer dereference"},
		{"github.raw.index", func() { _ = []int{}[len(nilMap)] }, "index out of range"},
	}
	s := natstest.Start(t)
	var mu sync.Mutex
	handled := map[string]int{}
	h := func(_ context.Context, msg jetstream.Msg) error {
		mu.Lock()
		handled[msg.Subject()]++
		mu.Unlock()
		for _, tc := range cases {
			if tc.subj == msg.Subject() {
				tc.panic()
			}
		}
		return nil
	}
	settler := &consume.Settler{Stage: "test", DLQ: &deadletter.Publisher{JS: s.JS}, MaxDeliver: 3, Log: zerolog.Nop()}
	subjects := []string{}
	for _, tc := range cases {
		subjects = append(subjects, tc.subj, tc.subj+"_after")
	}
	cons := startRun(t, s, h, settler, subjects...)
	stream := waitSettled(t, s, cons, uint64(len(cases)))
	mu.Lock()
	defer mu.Unlock()
	for _, tc := range cases {
		if handled[tc.subj] != 1 || handled[tc.subj+"_after"] != 1 {
			t.Errorf("%s: handled %d times, the message after it %d times; want once each", tc.subj, handled[tc.subj], handled[tc.subj+"_after"])
		}
		m, err := stream.GetLastMsgForSubject(context.Background(), "ghnotify.dlq.test."+tc.subj)
		if err != nil {
			t.Fatalf("%s: no dead letter: %v", tc.subj, err)
		}
		reason := m.Header.Get(deadletter.HeaderReason)
		if !strings.Contains(reason, tc.want) || !strings.Contains(reason, "TestPanickingHandlerIsDeadLettered") || !strings.Contains(reason, "lastdelivery_test.go:") {
			t.Errorf("%s: reason %q lacks the panic %q or where it happened", tc.subj, reason, tc.want)
		}
	}
}

func TestProtect(t *testing.T) {
	t.Parallel()
	base := errors.New("plain failure")
	if err := consume.Protect(func() error { return base }); err != base {
		t.Errorf("Protect changed a returned error: %v", err)
	}
	if err := consume.Protect(func() error { return nil }); err != nil {
		t.Errorf("Protect(nil) = %v", err)
	}
	err := consume.Protect(func() error { panic(42) })
	var pe *consume.PanicError
	if !consume.IsPermanent(err) || !errors.As(err, &pe) || pe.Value != 42 || !strings.Contains(pe.Stack, "TestProtect") {
		t.Errorf("Protect(panic) = %v", err)
	}
}
