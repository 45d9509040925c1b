// Package consume is ghnotify's one consume loop: a handler returns an error
// and Settle alone decides what happens to the message: Ack on success,
// NakWithDelay for a transient failure, or dead-letter then Term for a
// permanent one (or one that has used up its deliveries), so nothing is lost
// and a poison message never blocks the messages behind it.
//
// Consumers carry no MaxDeliver on the server (see provision.ConsumerMaxDeliver):
// the Settler counts deliveries itself and terminates a message only once
// it is acknowledged or its dead letter is stored. A panic in a handler is
// recovered and becomes a permanent failure with the panic in its reason.
package consume

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/retry"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix: the message is
// dead-lettered and terminated.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type delayError struct {
	err   error
	delay time.Duration
	// until, when set, is the time from which the next try is worth it;
	// it takes the place of delay.
	until time.Time
}

func (e delayError) Error() string { return e.err.Error() }
func (e delayError) Unwrap() error { return e.err }

// RetryAfter marks err as transient with a known wait before the next try,
// such as Slack's Retry-After.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return delayError{err: err, delay: d}
}

// RetryUntil marks err as transient and not worth trying again before
// until, such as a destination that is down or asked to wait. Settle
// redelivers it then (at least a millisecond from now).
func RetryUntil(err error, until time.Time) error {
	if err == nil {
		return nil
	}
	return delayError{err: err, until: until}
}

// RetryTime returns the time a RetryUntil mark in err's chain names, or
// the zero time when there is none.
func RetryTime(err error) time.Time {
	var de delayError
	if errors.As(err, &de) {
		return de.until
	}
	return time.Time{}
}

// holdError marks a message that was not tried at all because it waits on
// something else: a destination that is down, an earlier message that must
// go first. Its deliveries do not count against MaxDeliver.
type holdError struct{ delayError }

func (e holdError) Unwrap() error { return e.delayError }

// Hold marks err as a message that was handed back untried, to be
// redelivered at until. The delivery does not count against the settler's
// MaxDeliver, so an outage of a destination does not use up the deliveries
// of the events queued behind it; a message held for longer than the
// settler's MaxHold (measured from when it was stored) is dead-lettered.
// Only a Hold at the top of err counts: a Hold joined with other failures
// is an ordinary retry.
func Hold(err error, until time.Time) error {
	if err == nil {
		return nil
	}
	return holdError{delayError{err: err, until: until}}
}

// IsHold reports whether err itself was marked by Hold.
func IsHold(err error) bool {
	_, ok := err.(holdError)
	return ok
}

// redelivery is the backoff of a failed message: 1 s doubling to 5 min,
// jittered.
var redelivery = retry.Backoff{Base: time.Second, Max: 5 * time.Minute, Jitter: true}

// Backoff returns the redelivery delay after the given delivery attempt
// (1 for the first delivery): 1 s doubling to 5 min, jittered.
func Backoff(attempt uint64) time.Duration { return redelivery.Delay(attempt) }

// ExpBackoff returns base doubled for each attempt after the first, capped
// at maxDelay, jittered.
func ExpBackoff(attempt uint64, base, maxDelay time.Duration) time.Duration {
	return retry.Backoff{Base: base, Max: maxDelay, Jitter: true}.Delay(attempt)
}

// DeadLetterer stores a message that will not be processed.
type DeadLetterer interface {
	Publish(ctx context.Context, l deadletter.Letter) error
}

// Settler acks, naks or dead-letters messages after their handler ran.
type Settler struct {
	// Stage names the consuming stage in dead letters and logs.
	Stage string
	// DLQ receives permanent failures.
	DLQ DeadLetterer
	// MaxDeliver is how many deliveries a failing message gets, counted
	// from its metadata (NumDelivered): from that delivery on a failure is
	// dead-lettered. Zero means no limit. The consumer itself must have no
	// MaxDeliver (provision.ConsumerMaxDeliver), so that a message whose
	// dead letter cannot be stored yet comes back instead of vanishing.
	MaxDeliver int
	// MaxHold is how long a message handed back with Hold may wait, counted
	// from when the stream stored it, before it is dead-lettered. Zero
	// means no limit. Keep it well below the stream's MaxAge, or a held
	// message can age out of the stream.
	MaxHold time.Duration
	// Backoff computes the redelivery delay; nil means Backoff.
	Backoff func(attempt uint64) time.Duration
	// Now is the clock RetryUntil marks are read with; nil means time.Now.
	Now func() time.Time
	Log zerolog.Logger

	// held counts, per stream sequence, the deliveries of a message that
	// were handed back with Hold. The counts live in memory: after a
	// restart every delivery counts again.
	heldMu sync.Mutex
	held   map[uint64]heldCount
}

type heldCount struct {
	n    uint64
	seen time.Time
}

// maxHeldEntries bounds the held counts; past it, the counts of messages
// not seen for an hour (settled by another instance, say) are dropped.
const maxHeldEntries = 4096

// hold records one held delivery of seq.
func (s *Settler) hold(seq uint64) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	now := s.now()
	if s.held == nil {
		s.held = make(map[uint64]heldCount)
	}
	if len(s.held) >= maxHeldEntries {
		for k, v := range s.held {
			if now.Sub(v.seen) > time.Hour {
				delete(s.held, k)
			}
		}
	}
	h := s.held[seq]
	s.held[seq] = heldCount{n: h.n + 1, seen: now}
}

// heldFor returns how many deliveries of seq were held.
func (s *Settler) heldFor(seq uint64) uint64 {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	return s.held[seq].n
}

// settled forgets the held count of seq.
func (s *Settler) settled(seq uint64) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	delete(s.held, seq)
}

// Outcome is what Settle did.
type Outcome string

// Outcomes of Settle.
const (
	Acked        Outcome = "acked"
	Retried      Outcome = "retried"
	DeadLettered Outcome = "dead_lettered"
)

// Settle applies the handler's result err to msg. A message leaves the
// consumer only when err is nil (Ack) or its dead letter is stored (Term);
// when storing the dead letter fails, it is redelivered later and tried
// again. Settle recovers from a panic of its own (in the dead-letterer, say)
// by redelivering the message later.
func (s *Settler) Settle(ctx context.Context, msg jetstream.Msg, err error) (out Outcome) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error().Str("subject", msg.Subject()).Str("panic", fmt.Sprint(r)).Str("stack", shortStack(3)).
				Msg("settling message panicked; redelivering it later")
			_ = msg.NakWithDelay(s.backoff(1))
			out = Retried
		}
	}()
	log := s.Log.With().Str("subject", msg.Subject()).Logger()
	var attempt uint64 = 1
	var seq uint64
	var stored time.Time
	if md, mdErr := msg.Metadata(); mdErr == nil {
		seq, stored = md.Sequence.Stream, md.Timestamp
		// Deliveries handed back untried (Hold) are not attempts.
		attempt = md.NumDelivered - min(s.heldFor(seq), md.NumDelivered-1)
		log = log.With().Uint64("stream_seq", seq).Uint64("attempt", attempt).Logger()
	}
	if err == nil {
		s.settled(seq)
		if ackErr := msg.Ack(); ackErr != nil {
			log.Warn().Err(ackErr).Msg("acking message failed; it will be redelivered")
		}
		return Acked
	}
	held := IsHold(err) && !IsPermanent(err)
	heldTooLong := held && s.MaxHold > 0 && !stored.IsZero() && s.now().Sub(stored) > s.MaxHold
	lastTry := !held && s.MaxDeliver > 0 && attempt >= uint64(s.MaxDeliver)
	if IsPermanent(err) || lastTry || heldTooLong {
		reason := err.Error()
		switch {
		case heldTooLong:
			reason = fmt.Sprintf("gave up after waiting %s: %s", s.MaxHold, reason)
		case !IsPermanent(err):
			reason = fmt.Sprintf("gave up after %d deliveries: %s", attempt, reason)
		}
		if dlqErr := s.DLQ.Publish(ctx, deadletter.FromMsg(s.Stage, msg, reason)); dlqErr != nil {
			// Never Term without a stored dead letter: the consumer has no
			// MaxDeliver, so the message comes back and is tried again.
			log.Error().Err(dlqErr).Str("reason", reason).Msg("dead-lettering failed; redelivering instead")
			if nakErr := msg.NakWithDelay(s.backoff(attempt)); nakErr != nil {
				log.Warn().Err(nakErr).Msg("nak failed; message will be redelivered after AckWait")
			}
			return Retried
		}
		if termErr := msg.TermWithReason(truncate(reason, 256)); termErr != nil {
			log.Warn().Err(termErr).Msg("terminating dead-lettered message failed")
		}
		s.settled(seq)
		log.Warn().Str("reason", reason).Msg("message dead-lettered")
		return DeadLettered
	}
	if held {
		s.hold(seq)
	}
	delay := s.backoff(attempt)
	var de delayError
	if errors.As(err, &de) {
		delay = de.delay
		if !de.until.IsZero() {
			delay = max(de.until.Sub(s.now()), time.Millisecond)
		}
	}
	if held {
		// A hand-back untried is routine while a destination is down; the
		// failure that made it down was logged where it happened.
		log.Debug().Err(err).Dur("retry_in", delay).Msg("message handed back untried; will retry")
	} else {
		log.Warn().Err(err).Dur("retry_in", delay).Msg("handling message failed; will retry")
	}
	if nakErr := msg.NakWithDelay(delay); nakErr != nil {
		log.Warn().Err(nakErr).Msg("nak failed; message will be redelivered after AckWait")
	}
	return Retried
}

func (s *Settler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Settler) backoff(attempt uint64) time.Duration {
	if s.Backoff != nil {
		return s.Backoff(attempt)
	}
	return Backoff(attempt)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Handler processes one message. It must not ack; Settle does.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// Run consumes cons until ctx ends, passing each message to h and its result
// to s.Settle, one message at a time. A panicking handler does not stop the
// loop: its message fails permanently with the panic (see Protect). On
// shutdown it stops pulling, lets the message in hand finish (handlers get a
// context that shutdown does not cancel), and returns once the consumer has
// drained.
func Run(ctx context.Context, cons jetstream.Consumer, h Handler, s *Settler, opts ...jetstream.PullConsumeOpt) error {
	work := context.WithoutCancel(ctx)
	closed, err := Serve(ctx, cons, func(msg jetstream.Msg) {
		s.Settle(work, msg, Protect(func() error { return h(work, msg) }))
	}, Hooks{}, opts...)
	if err != nil {
		return err
	}
	<-closed
	return nil
}

// Hooks are called by Serve as the consumer starts and stops.
type Hooks struct {
	// Started is called once the consumer pulls.
	Started func()
	// Stopping is called when ctx ends, before the consumer drains.
	Stopping func()
}

// Serve consumes cons with cb until ctx ends, then stops pulling and
// returns the channel that is closed once the consumer has drained. cb
// may return before its message is settled, as long as it settles it
// later through a Settler (the sink's delivery engine does); Run is Serve
// for handlers that are done when they return.
func Serve(ctx context.Context, cons jetstream.Consumer, cb jetstream.MessageHandler, hooks Hooks, opts ...jetstream.PullConsumeOpt) (<-chan struct{}, error) {
	cc, err := cons.Consume(cb, opts...)
	if err != nil {
		return nil, fmt.Errorf("starting consumer: %w", err)
	}
	if hooks.Started != nil {
		hooks.Started()
	}
	<-ctx.Done()
	if hooks.Stopping != nil {
		hooks.Stopping()
	}
	cc.Drain()
	return cc.Closed(), nil
}

// PanicError is a recovered panic: its message names the panic value and
// the innermost frames where it happened.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v [%s]", e.Value, e.Stack)
}

// Protect calls fn and turns a panic in it into a permanent *PanicError, so
// that one bad message cannot crash the process.
func Protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(&PanicError{Value: r, Stack: shortStack(3)})
		}
	}()
	return fn()
}

// shortStack names up to five frames of the caller's stack, skipping skip
// frames and the runtime's own, as "func file:line" joined by " < ".
func shortStack(skip int) string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(skip, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var parts []string
	for len(parts) < 5 {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			parts = append(parts, fmt.Sprintf("%s %s:%d", f.Function, file, f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(parts, " < ")
}
