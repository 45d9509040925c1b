// Package retry is ghnotify's one way of trying again: a capped exponential
// backoff, optionally jittered, and a loop that retries a call with it
// until the call succeeds or its context ends.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential delay: Base before the second attempt,
// doubling after each failure, never more than Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
	// Jitter draws each delay at random from [d/2, d], so that clients
	// that failed together do not retry together.
	Jitter bool
}

// Delay returns the wait after the given failed attempt (1 for the first).
func (b Backoff) Delay(attempt uint64) time.Duration {
	d := max(b.Base, 0)
	for i := uint64(1); i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 {
		d = min(d, b.Max)
	}
	if b.Jitter && d > 0 {
		return d/2 + rand.N(d/2+1)
	}
	return d
}

// Until calls fn until it returns nil or ctx ends, waiting b.Delay between
// attempts. onFailure, when not nil, hears of each failure with its attempt
// number and the wait before the next. When ctx ends first, the error joins
// ctx's error with fn's last one.
func Until(ctx context.Context, b Backoff, fn func(ctx context.Context) error, onFailure func(attempt uint64, err error, wait time.Duration)) error {
	for attempt := uint64(1); ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		wait := b.Delay(attempt)
		if onFailure != nil {
			onFailure(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
