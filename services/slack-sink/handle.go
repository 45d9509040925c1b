package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/message"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slackapi"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// HeaderDestination names the destination on a dead letter of the sink.
const HeaderDestination = "Ghnotify-Destination"

// keyValue is the part of a JetStream key-value bucket the sink uses.
type keyValue interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

// sink routes events and runs the per-destination queues.
type sink struct {
	cfg     Config
	log     zerolog.Logger
	table   atomic.Pointer[routes.Table]
	sent    keyValue
	threads keyValue
	trace   *trace.Store
	dlq     consume.DeadLetterer
	settler *consume.Settler
	metrics *metrics
	httpc   *http.Client

	// work is the context of posts: it survives the consume context's end
	// and is cancelled only when shutdown gives up waiting.
	work    context.Context
	abort   context.CancelFunc
	slots   chan struct{}
	pending sync.WaitGroup

	mu      sync.Mutex
	queues  map[string]*queue
	qwg     sync.WaitGroup
	console sync.Mutex
}

// pendingMsg is one JetStream message waiting for its destinations.
type pendingMsg struct {
	s    *sink
	msg  jetstream.Msg
	mu   sync.Mutex
	left int
	errs []error
	// failed names the route and destination of each error in errs.
	failed []routes.Target
	ev     *event.Event
	delay  time.Duration
	stopKA chan struct{}
}

// job is one event for one destination.
type job struct {
	p      *pendingMsg
	ev     *event.Event
	msg    message.Message
	target routes.Target
}

func (j *job) finish(err error) { j.p.done(j.target, err) }

// done records one destination's result; the last one settles the message.
func (p *pendingMsg) done(tg routes.Target, err error) {
	p.mu.Lock()
	if err != nil {
		p.errs = append(p.errs, err)
		p.failed = append(p.failed, tg)
		if d := retryDelay(err); d > p.delay {
			p.delay = d
		}
	}
	p.left--
	last := p.left == 0
	p.mu.Unlock()
	if !last {
		return
	}
	close(p.stopKA)
	s := p.s
	defer func() {
		<-s.slots
		s.pending.Done()
	}()
	if len(p.errs) == 0 {
		s.settler.Settle(s.work, p.msg, nil)
		return
	}
	if s.work.Err() != nil {
		// Shutdown gave up: the message is redelivered after AckWait and
		// the sent bucket keeps what was posted from being posted again.
		return
	}
	err = errors.Join(p.errs...)
	if p.delay > 0 {
		err = consume.RetryAfter(err, p.delay)
	}
	if s.settler.Settle(s.work, p.msg, err) == consume.DeadLettered {
		// The event ran out of deliveries: the destinations that still
		// failed get a trace record saying so.
		for i, tg := range p.failed {
			s.metrics.posts.WithLabelValues(tg.Route, tg.Destination.Name, "dead_lettered").Inc()
			s.record(p.ev, tg.Destination.Name, trace.Record{Outcome: trace.OutcomeDeadLettered, Reason: "gave up: " + p.errs[i].Error(), Route: tg.Route, Destination: tg.Destination.Name})
		}
	}
}

// retryDelayError carries the delay after which a failed destination is
// worth trying again.
type retryDelayError struct {
	err   error
	delay time.Duration
}

func (e retryDelayError) Error() string { return e.err.Error() }
func (e retryDelayError) Unwrap() error { return e.err }

func retryDelay(err error) time.Duration {
	var rd retryDelayError
	if errors.As(err, &rd) {
		return rd.delay
	}
	return 0
}

// keepAlive tells JetStream the message is still being worked on until
// every destination is done.
func (p *pendingMsg) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopKA:
			return
		case <-t.C:
			_ = p.msg.InProgress()
		}
	}
}

// onMsg is the consume callback: it decodes and routes the event, enqueues
// one job per destination and returns at once; the message is settled when
// the last job is done.
func (s *sink) onMsg(msg jetstream.Msg) {
	select {
	case s.slots <- struct{}{}:
	case <-s.work.Done():
		return
	}
	s.pending.Add(1)
	release := func() {
		<-s.slots
		s.pending.Done()
	}
	ev, err := event.Unmarshal(msg.Data())
	if err != nil {
		s.metrics.events.WithLabelValues("invalid").Inc()
		s.settler.Settle(s.work, msg, consume.Permanent(fmt.Errorf("decoding canonical event: %w", err)))
		release()
		return
	}
	table := s.table.Load()
	dec := table.Decide(routes.NewFacts(ev))
	for _, sk := range dec.Skips {
		s.metrics.skips.WithLabelValues(orNone(sk.Route), orNone(sk.Destination)).Inc()
		part := sk.Destination
		if part == "" {
			part = orNone(sk.Route)
		}
		s.record(ev, part, trace.Record{Outcome: trace.OutcomeSkipped, Reason: sk.Reason, Route: sk.Route, Destination: sk.Destination})
	}
	if len(dec.Targets) == 0 {
		s.metrics.events.WithLabelValues("skipped").Inc()
		s.settler.Settle(s.work, msg, nil)
		release()
		return
	}
	s.metrics.events.WithLabelValues("routed").Inc()
	p := &pendingMsg{s: s, msg: msg, ev: ev, left: len(dec.Targets), stopKA: make(chan struct{})}
	go p.keepAlive(max(s.cfg.AckWait/3, 10*time.Millisecond))
	rendered := message.Render(ev)
	for _, tg := range dec.Targets {
		s.queueFor(tg.Destination).push(&job{p: p, ev: ev, msg: rendered, target: tg})
	}
}

func (s *sink) queueFor(d *routes.Destination) *queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[d.Name]; ok {
		return q
	}
	name := d.Name
	q := newQueue(name, d.Rate, d.Burst, s.process, func(n int) { s.metrics.queueDepth.WithLabelValues(name).Set(float64(n)) })
	s.queues[name] = q
	s.qwg.Add(1)
	go func() {
		defer s.qwg.Done()
		q.loop(s.work)
	}()
	return q
}

// applyRates updates the queues' rate limits after a reload.
func (s *sink) applyRates(t *routes.Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, q := range s.queues {
		if d := t.Destinations[name]; d != nil {
			q.setRate(d.Rate, d.Burst)
		}
	}
}

// sentRecord is the value stored in the sent bucket.
type sentRecord struct {
	Outcome string    `json:"outcome"`
	Route   string    `json:"route,omitempty"`
	TS      string    `json:"ts,omitempty"`
	At      time.Time `json:"at"`
}

// SentKey is the sent-bucket key of an event posted to a destination.
func SentKey(eventID, destination string) string {
	return trace.KeyPart(eventID) + "." + trace.KeyPart(destination)
}

// ThreadKey is the threads-bucket key of an issue or pull request's thread
// in a destination.
func ThreadKey(destination, repo string, number int) string {
	return trace.KeyPart(destination) + "." + trace.KeyPart(fmt.Sprintf("%s#%d", repo, number))
}

// finalKinds are the kinds whose message is also broadcast to the channel
// when a route says broadcast_final.
var finalKinds = map[string]bool{"pull_request.merged": true, "pull_request.closed": true, "issues.closed": true}

// process posts one job, with retries inside the queue; it returns nil when
// the destination is done (posted, already posted or dead-lettered) and an
// error when the event should come back later.
func (s *sink) process(ctx context.Context, j *job) error {
	dest := j.target.Destination
	key := SentKey(j.ev.ID, dest.Name)
	log := s.log.With().Str("event_id", j.ev.ID).Str("destination", dest.Name).Str("route", j.target.Route).Logger()
	if e, err := s.sent.Get(ctx, key); err == nil {
		var prev sentRecord
		_ = json.Unmarshal(e.Value(), &prev)
		s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "duplicate").Inc()
		log.Debug().Str("earlier_outcome", prev.Outcome).Msg("event already handled for this destination; not posting again")
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return retryDelayError{fmt.Errorf("reading sent record: %w", err), time.Second}
	}

	req := slackapi.Request{Message: j.msg}
	threadKey := ""
	if t := j.ev.Data.Target; j.target.Thread && t != nil && t.Number > 0 && j.ev.Data.Repository != nil {
		threadKey = ThreadKey(dest.Name, j.ev.Data.Repository.FullName, t.Number)
		if e, err := s.threads.Get(ctx, threadKey); err == nil {
			req.ThreadTS = string(e.Value())
			req.ReplyBroadcast = j.target.BroadcastFinal && finalKinds[j.ev.Data.Kind]
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return retryDelayError{fmt.Errorf("reading thread: %w", err), time.Second}
		}
	}

	poster := s.poster(dest, j.ev)
	q := s.queueFor(dest)
	var resp slackapi.Response
	for attempt := 1; ; attempt++ {
		if err := q.limiter.Wait(ctx); err != nil {
			return err
		}
		start := time.Now()
		r, err := poster.Post(ctx, req)
		if err == nil {
			s.metrics.postTime.WithLabelValues(dest.Name).Observe(time.Since(start).Seconds())
			resp = r
			break
		}
		var se *slackapi.Error
		if !errors.As(err, &se) {
			se = &slackapi.Error{Class: slackapi.Retryable, Reason: err.Error()}
		}
		s.metrics.slackErrs.WithLabelValues(dest.Name, se.Class.String()).Inc()
		if se.Class == slackapi.Permanent {
			return s.deadLetter(ctx, j, key, se, log)
		}
		delay := se.RetryAfter
		if se.Class != slackapi.RateLimited {
			delay = backoff(attempt)
		}
		if attempt >= s.cfg.PostAttempts {
			s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "retry_later").Inc()
			log.Warn().Err(se).Int("attempts", attempt).Msg("slack keeps failing; handing the event back for a later redelivery")
			return retryDelayError{se, delay}
		}
		log.Debug().Err(se).Dur("retry_in", delay).Msg("slack post failed; retrying")
		if err := s.cfg.Sleep(ctx, delay); err != nil {
			return err
		}
	}

	if threadKey != "" && req.ThreadTS == "" && resp.TS != "" {
		if _, err := s.threads.Put(ctx, threadKey, []byte(resp.TS)); err != nil {
			log.Warn().Err(err).Msg("recording the thread failed; later events start a new one")
		}
	}
	s.markSent(ctx, key, sentRecord{Outcome: trace.OutcomePosted, Route: j.target.Route, TS: resp.TS}, log)
	s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "posted").Inc()
	s.record(j.ev, dest.Name, trace.Record{Outcome: trace.OutcomePosted, Route: j.target.Route, Destination: dest.Name})
	return nil
}

// markSent records a finished destination; it retries briefly, since a
// lost record can cost a duplicate post on redelivery.
func (s *sink) markSent(ctx context.Context, key string, rec sentRecord, log zerolog.Logger) {
	rec.At = time.Now().UTC()
	b, _ := json.Marshal(rec)
	var err error
	for i := 0; i < 3; i++ {
		if _, err = s.sent.Put(ctx, key, b); err == nil {
			return
		}
		if s.cfg.Sleep(ctx, 200*time.Millisecond) != nil {
			break
		}
	}
	log.Error().Err(err).Msg("recording the post failed; a redelivery of this event could post it again")
}

func (s *sink) deadLetter(ctx context.Context, j *job, key string, se *slackapi.Error, log zerolog.Logger) error {
	dest := j.target.Destination
	reason := fmt.Sprintf("destination %s: %s", dest.Name, se.Error())
	l := deadletter.FromMsg(trace.StageSink, j.p.msg, reason)
	h := nats.Header{}
	for k, vs := range l.Header {
		h[k] = append([]string(nil), vs...)
	}
	l.Header = h
	l.Header.Set(HeaderDestination, dest.Name)
	if l.ID != "" {
		l.ID += ":" + dest.Name
	}
	if err := s.dlq.Publish(ctx, l); err != nil {
		return retryDelayError{fmt.Errorf("dead-lettering: %w", err), time.Second}
	}
	s.markSent(ctx, key, sentRecord{Outcome: trace.OutcomeDeadLettered, Route: j.target.Route}, log)
	s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "dead_lettered").Inc()
	s.record(j.ev, dest.Name, trace.Record{Outcome: trace.OutcomeDeadLettered, Reason: reason, Route: j.target.Route, Destination: dest.Name})
	log.Warn().Str("reason", reason).Msg("slack refused the message for good; dead-lettered")
	return nil
}

// record writes a trace record of the event; failures are only logged.
func (s *sink) record(ev *event.Event, part string, rec trace.Record) {
	rec.Stage = trace.StageSink
	rec.DeliveryID = ev.Data.DeliveryID
	rec.Event = ev.Data.Event
	rec.EventID = ev.ID
	rec.Kinds = []string{ev.Data.Kind}
	key := trace.Key(ev.Data.DeliveryID, trace.StageSink, ev.ID, part)
	if err := s.trace.Put(s.work, key, rec); err != nil {
		s.log.Warn().Err(err).Str("key", key).Msg("writing trace record failed")
	}
}

// backoff is a capped exponential delay with full jitter for retries
// within one delivery: 0.5 s, 1 s, 2 s ... up to 30 s.
func backoff(attempt int) time.Duration {
	const base, capDelay = 500 * time.Millisecond, 30 * time.Second
	d := base
	for i := 1; i < attempt && d < capDelay; i++ {
		d *= 2
	}
	d = min(d, capDelay)
	return d/2 + rand.N(d/2+1)
}
