package deliver

import (
	"context"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/event"
)

// Poster delivers one event to one destination. Each destination type
// (Slack webhooks and channels, the console, signed HTTP) has its own;
// the engine finds it as the Endpoint of a routes.Destination.
type Poster interface {
	// Post delivers ev. It returns the destination's id of the thread
	// the post started or joined (opaque to the engine; "" for a
	// destination without threads) or an error, preferably an *Error
	// saying what to do about it; any other error counts as Transient.
	Post(ctx context.Context, ev *event.Event, th Thread) (thread string, err error)
}

// Thread places a post in a thread of the destination.
type Thread struct {
	// ID is the thread an earlier post of the same issue or pull request
	// started, as its Post returned it; "" posts at the top level.
	ID string
	// Broadcast also shows the reply outside the thread: the route asked
	// for broadcast_final and the event is a final state (merged, closed).
	Broadcast bool
	// Mentions are whom the post may mention: the routes file's people
	// map and the route's mention list.
	Mentions routes.Mentions
}

// Class says what to do about a failed post.
type Class int

// Failure classes.
const (
	// Transient failures (5xx, timeouts, network errors) are retried
	// with backoff; a destination failing too often is down for a while.
	Transient Class = iota
	// RateLimited failures pause the whole destination for RetryAfter
	// and are not counted as failed tries.
	RateLimited
	// Permanent failures are not retried: the event is dead-lettered
	// for that destination.
	Permanent
)

// String names the class in metrics and logs.
func (c Class) String() string {
	switch c {
	case RateLimited:
		return "rate_limited"
	case Permanent:
		return "permanent"
	}
	return "retryable"
}

// Error is a failed post and its class. Its message must name the
// destination's reason and never a secret (URL, token, signature).
type Error struct {
	Class Class
	// RetryAfter is how long a rate-limited destination asked to wait.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Fail classifies err.
func Fail(c Class, err error) *Error { return &Error{Class: c, Err: err} }

// Slow marks err as a rate limit asking to wait d.
func Slow(err error, d time.Duration) *Error {
	return &Error{Class: RateLimited, RetryAfter: d, Err: err}
}
