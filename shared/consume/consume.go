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
}

func (e delayError) Error() string { return e.err.Error() }
func (e delayError) Unwrap() error { return e.err }

// RetryAfter marks err as transient with a known wait before the next try,
// such as Slack's Retry-After.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return delayError{err, d}
}

// redelivery is the backoff of a failed message: 1 s doubling to 5 min,
// jittered.
var redelivery = retry.Backoff{Base: time.Second, Max: 5 * time.Minute, Jitter: true}

// Backoff returns the redelivery delay after the given delivery attempt
// (1 for the first delivery): 1 s doubling to 5 min, jittered.
func Backoff(attempt uint64) time.Duration { return redelivery.Delay(attempt) }

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
	// Backoff computes the redelivery delay; nil means Backoff.
	Backoff func(attempt uint64) time.Duration
	Log     zerolog.Logger
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
	if md, mdErr := msg.Metadata(); mdErr == nil {
		attempt = md.NumDelivered
		log = log.With().Uint64("stream_seq", md.Sequence.Stream).Uint64("attempt", attempt).Logger()
	}
	if err == nil {
		if ackErr := msg.Ack(); ackErr != nil {
			log.Warn().Err(ackErr).Msg("acking message failed; it will be redelivered")
		}
		return Acked
	}
	lastTry := s.MaxDeliver > 0 && attempt >= uint64(s.MaxDeliver)
	if IsPermanent(err) || lastTry {
		reason := err.Error()
		if !IsPermanent(err) {
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
		log.Warn().Str("reason", reason).Msg("message dead-lettered")
		return DeadLettered
	}
	delay := s.backoff(attempt)
	var de delayError
	if errors.As(err, &de) {
		delay = de.delay
	}
	log.Warn().Err(err).Dur("retry_in", delay).Msg("handling message failed; will retry")
	if nakErr := msg.NakWithDelay(delay); nakErr != nil {
		log.Warn().Err(nakErr).Msg("nak failed; message will be redelivered after AckWait")
	}
	return Retried
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
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		s.Settle(work, msg, Protect(func() error { return h(work, msg) }))
	}, opts...)
	if err != nil {
		return fmt.Errorf("starting consumer: %w", err)
	}
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	return nil
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
