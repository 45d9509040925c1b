package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	b := Backoff{Base: 250 * time.Millisecond, Max: 5 * time.Second}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.Delay(uint64(i + 1)); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := b.Delay(1 << 62); got != 5*time.Second {
		t.Errorf("Delay of a huge attempt = %s, want the cap", got)
	}
}

func TestDelayJitterStaysInRange(t *testing.T) {
	t.Parallel()
	b := Backoff{Base: time.Second, Max: time.Minute, Jitter: true}
	for attempt := uint64(1); attempt < 10; attempt++ {
		full := Backoff{Base: b.Base, Max: b.Max}.Delay(attempt)
		for range 100 {
			if d := b.Delay(attempt); d < full/2 || d > full {
				t.Fatalf("Delay(%d) = %s, outside [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
}

func TestUntilRetriesWithTheBackoffUntilSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := Backoff{Base: time.Second, Max: 3 * time.Second}
		start := time.Now()
		var waits []time.Duration
		calls := 0
		err := Until(t.Context(), b, func(context.Context) error {
			calls++
			if calls < 4 {
				return errors.New("not yet")
			}
			return nil
		}, func(_ uint64, _ error, wait time.Duration) { waits = append(waits, wait) })
		if err != nil || calls != 4 {
			t.Fatalf("Until: err %v after %d calls, want success on the 4th", err, calls)
		}
		// The fake clock of the bubble: 1 s + 2 s + 3 s of waiting.
		if got := time.Since(start); got != 6*time.Second {
			t.Fatalf("waited %s in all, want 6s", got)
		}
		if len(waits) != 3 || waits[2] != 3*time.Second {
			t.Fatalf("waits %v, want 1s 2s 3s", waits)
		}
	})
}

func TestUntilStopsWithTheContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		last := errors.New("still down")
		err := Until(ctx, Backoff{Base: time.Second, Max: time.Second}, func(context.Context) error { return last }, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, last) {
			t.Fatalf("Until: %v, want the deadline and the last error", err)
		}
	})
}
