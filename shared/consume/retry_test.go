package consume_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// nakMsg is a message that records the delay of its NakWithDelay.
type nakMsg struct {
	delay time.Duration
	naks  int
}

func (m *nakMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: 1}, nil
}
func (m *nakMsg) Data() []byte                    { return nil }
func (m *nakMsg) Headers() nats.Header            { return nats.Header{} }
func (m *nakMsg) Subject() string                 { return "github.event.x" }
func (m *nakMsg) Reply() string                   { return "" }
func (m *nakMsg) Ack() error                      { return nil }
func (m *nakMsg) DoubleAck(context.Context) error { return nil }
func (m *nakMsg) Nak() error                      { m.naks++; return nil }
func (m *nakMsg) NakWithDelay(d time.Duration) error {
	m.naks++
	m.delay = d
	return nil
}
func (m *nakMsg) InProgress() error           { return nil }
func (m *nakMsg) Term() error                 { return nil }
func (m *nakMsg) TermWithReason(string) error { return nil }

// TestRetryUntilSetsTheRedeliveryDelay checks that a RetryUntil mark is
// read with the settler's clock, survives wrapping, and that a time
// already past still gives a positive delay.
func TestRetryUntilSetsTheRedeliveryDelay(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &consume.Settler{Stage: "test", Now: func() time.Time { return now }, Log: zerolog.Nop(),
		Backoff: func(uint64) time.Duration { return time.Hour }}
	for _, tc := range []struct {
		name  string
		err   error
		delay time.Duration
	}{
		{"future", consume.RetryUntil(errors.New("down"), now.Add(42*time.Second)), 42 * time.Second},
		{"wrapped", errors.Join(errors.New("other"), consume.RetryUntil(errors.New("down"), now.Add(3*time.Second))), 3 * time.Second},
		{"past", consume.RetryUntil(errors.New("down"), now.Add(-time.Minute)), time.Millisecond},
		{"unmarked", errors.New("plain"), time.Hour},
	} {
		m := &nakMsg{}
		if out := s.Settle(context.Background(), m, tc.err); out != consume.Retried || m.naks != 1 || m.delay != tc.delay {
			t.Errorf("%s: %s with delay %v after %d naks, want retried with %v", tc.name, out, m.delay, m.naks, tc.delay)
		}
	}
	if got := consume.RetryTime(consume.RetryUntil(errors.New("x"), now)); !got.Equal(now) {
		t.Errorf("RetryTime = %v, want %v", got, now)
	}
	if !consume.RetryTime(errors.New("x")).IsZero() || consume.RetryUntil(nil, now) != nil {
		t.Error("RetryTime of an unmarked error must be zero, RetryUntil(nil) nil")
	}
}

func TestExpBackoffStaysWithinItsBounds(t *testing.T) {
	for attempt := uint64(1); attempt < 40; attempt++ {
		want := min(500*time.Millisecond<<min(attempt-1, 20), 30*time.Second)
		if d := consume.ExpBackoff(attempt, 500*time.Millisecond, 30*time.Second); d < want/2 || d > want {
			t.Fatalf("ExpBackoff(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
		}
	}
}
