// Package deliver is the sink's delivery engine, the same for every
// destination type: it takes canonical events from the consumer, routes
// them, and runs one queue per destination with its own rate limit, so
// that each event reaches each destination at most once, in order, with
// retries, Retry-After pauses, down periods that hand events back to
// JetStream, dead letters and trace records. Destinations are reached
// through the Poster interface; this package knows no destination type.
package deliver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// HeaderDestination names the destination on a dead letter of the sink.
const HeaderDestination = "Ghnotify-Destination"

// KeyValue is the part of a JetStream key-value bucket the engine uses.
type KeyValue interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

// Config tunes the engine; every field must be set.
type Config struct {
	// MaxInFlight bounds the events being delivered at once.
	MaxInFlight int
	// PostAttempts is how often a destination is tried for one event
	// when it fails (rate limits do not count) before it is down for a
	// while and its events are handed back to JetStream.
	PostAttempts int
	// MaxDeliver is how many deliveries an event gets before an event
	// still failing is dead-lettered.
	MaxDeliver int
	// MaxHold is how long an event may be handed back untried (its
	// destination down, an earlier event first) before it is dead-lettered;
	// those hand-backs do not count against MaxDeliver. Zero means no limit.
	MaxHold time.Duration
	// AckWait is the consumer's AckWait; events in flight are kept alive
	// with InProgress meanwhile.
	AckWait time.Duration
	// Sleep waits between tries and for Retry-After.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of Retry-After pauses and down periods.
	Now func() time.Time
	// Backoff is the wait before the given retry of a failing destination
	// and the length of its given down period in a row.
	Backoff func(attempt int) time.Duration
}

// Tracer stores trace records; *trace.Store is one.
type Tracer interface {
	Put(ctx context.Context, key string, rec trace.Record) error
}

// Stores are where the engine keeps what it did.
type Stores struct {
	// Sent holds one record per event and destination done (posted or
	// dead-lettered): the at-most-once bookkeeping.
	Sent KeyValue
	// Threads maps a destination and an issue or pull request to the
	// thread its first post started.
	Threads KeyValue
	// Trace receives a record of every outcome.
	Trace Tracer
	// DLQ receives dead letters.
	DLQ consume.DeadLetterer
	// Held keeps the events quiet hours and digests hold back; nil posts
	// every event at once.
	Held Holder
}

// Engine routes events and runs the per-destination queues.
type Engine struct {
	cfg     Config
	log     zerolog.Logger
	table   atomic.Pointer[routes.Table]
	sent    KeyValue
	threads KeyValue
	trace   Tracer
	dlq     consume.DeadLetterer
	held    Holder
	settler *consume.Settler
	metrics *metrics

	// work is the context of posts: it survives the consume context's end
	// and is cancelled only when shutdown gives up waiting.
	work  context.Context
	abort context.CancelFunc
	// halt is cancelled when shutdown starts: waits end, and events not
	// yet posted go back to JetStream at once.
	halt     context.Context
	stopping context.CancelFunc
	slots    chan struct{}
	pending  sync.WaitGroup

	// back holds the events handed back on shutdown until the consumer
	// has closed (see handBack); backNow is set once it has.
	backMu  sync.Mutex
	back    []jetstream.Msg
	backNow bool

	mu     sync.Mutex
	queues map[string]*queue
	qwg    sync.WaitGroup
}

// New returns an engine delivering by table; ctx carries values only (its
// end does not stop the engine: Stop and Finish do).
func New(ctx context.Context, cfg Config, table *routes.Table, st Stores, reg prometheus.Registerer, log zerolog.Logger) *Engine {
	work, abort := context.WithCancel(context.WithoutCancel(ctx))
	halt, stopping := context.WithCancel(work)
	e := &Engine{
		cfg: cfg, log: log, sent: st.Sent, threads: st.Threads, trace: st.Trace, dlq: st.DLQ, held: st.Held,
		settler: &consume.Settler{Stage: trace.StageSink, DLQ: st.DLQ, MaxDeliver: cfg.MaxDeliver, MaxHold: cfg.MaxHold, Now: cfg.Now, Log: log},
		metrics: newMetrics(reg), work: work, abort: abort, halt: halt, stopping: stopping,
		slots: make(chan struct{}, cfg.MaxInFlight), queues: map[string]*queue{},
	}
	e.table.Store(table)
	return e
}

// Table returns the routing table in force.
func (s *Engine) Table() *routes.Table { return s.table.Load() }

// SetTable puts a reloaded routing table in force.
func (s *Engine) SetTable(t *routes.Table) {
	s.table.Store(t)
	s.applyRates(t)
}

// Stop starts the shutdown: no new post starts, waits end, and every
// event not yet posted is handed back to JetStream.
func (s *Engine) Stop() { s.stopping() }

// Finish completes the shutdown once the consumer is draining: when closed
// is, the events handed back go to JetStream in stream order; the posts in
// flight get until timeout, then they are cancelled (their events come
// back after AckWait). It reports whether everything finished in time.
func (s *Engine) Finish(closed <-chan struct{}, timeout time.Duration) bool {
	s.Stop()
	done := make(chan struct{})
	go func() {
		<-closed
		s.handBackAll()
		s.pending.Wait()
		close(done)
	}()
	inTime := true
	select {
	case <-done:
	case <-time.After(timeout):
		inTime = false
		s.abort()
		<-done
	}
	s.abort()
	s.qwg.Wait()
	return inTime
}

// pendingMsg is one JetStream message waiting for its destinations.
type pendingMsg struct {
	s    *Engine
	msg  jetstream.Msg
	mu   sync.Mutex
	left int
	errs []error
	// failed names the route and destination of each error in errs.
	failed []routes.Target
	ev     *event.Event
	// seq is the message's stream sequence (0 if unknown).
	seq uint64
	// until is when the failed destinations are worth trying again.
	until  time.Time
	stopKA chan struct{}
	// released marks an event or digest the holder released (see held.go);
	// digest is the digest it carries.
	released bool
	digest   *schedule.Batch
}

// job is one event for one destination.
type job struct {
	p      *pendingMsg
	ev     *event.Event
	target routes.Target
}

func (j *job) finish(err error) { j.p.done(j.target, err) }

// done records one destination's result; the last one settles the message.
func (p *pendingMsg) done(tg routes.Target, err error) {
	p.mu.Lock()
	if err != nil {
		p.errs = append(p.errs, err)
		p.failed = append(p.failed, tg)
		if u := consume.RetryTime(err); u.After(p.until) {
			p.until = u
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
	if s.halt.Err() != nil {
		// Shutting down: what was not posted goes back without waiting
		// for AckWait; the sent bucket skips the destinations already
		// posted.
		s.handBack(p.msg)
		return
	}
	held := true
	for _, e := range p.errs {
		held = held && consume.IsHold(e)
	}
	err = errors.Join(p.errs...)
	switch {
	case held:
		// No destination was tried: the event waits on a destination that
		// is down or on an earlier event, and the wait uses up none of its
		// deliveries.
		err = consume.Hold(err, p.until)
	case !p.until.IsZero():
		err = consume.RetryUntil(err, p.until)
	}
	if s.settler.Settle(s.work, p.msg, err) == consume.DeadLettered {
		// The event ran out of deliveries: the destinations that still
		// failed get a trace record saying so, and their queues stop
		// waiting for it to come back.
		for i, tg := range p.failed {
			s.queueFor(tg.Destination).forget(p.seq)
			s.metrics.posts.WithLabelValues(tg.Route, tg.Destination.Name, "dead_lettered").Inc()
			s.recordMsg(p.msg.Headers(), p.ev, tg.Destination.Name, trace.Record{Outcome: trace.OutcomeDeadLettered, Reason: "gave up: " + p.errs[i].Error(), Route: tg.Route, Destination: tg.Destination.Name})
		}
	}
}

// handBackGrace is how long past its due time an event handed back is
// waited for before later events of its destination go ahead.
const handBackGrace = 2 * time.Second

// minRateLimitPause is the shortest pause after a rate limit, even when
// the destination answers Retry-After: 0.
const minRateLimitPause = time.Second

// errStopping finishes the jobs that shutdown caught before they posted.
var errStopping = errors.New("sink shutting down; event handed back to JetStream")

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

// Handle is the consume callback: it decodes and routes the event, enqueues
// one job per destination and returns at once; the message is settled when
// the last job is done.
func (s *Engine) Handle(msg jetstream.Msg) {
	if s.halt.Err() != nil {
		s.handBack(msg)
		return
	}
	select {
	case s.slots <- struct{}{}:
	case <-s.halt.Done():
		s.handBack(msg)
		return
	}
	s.pending.Add(1)
	release := func() {
		<-s.slots
		s.pending.Done()
	}
	var ev *event.Event
	var targets []routes.Target
	var digest *schedule.Batch
	table := s.table.Load()
	released := msg.Headers().Get(HeaderReleaseTo) != ""
	// A panic while decoding or routing fails this event for
	// good (dead letter with the panic); the sink goes on.
	err := consume.Protect(func() (err error) {
		if released {
			ev, digest, targets, err = s.released(msg, table)
			return err
		}
		ev, err = event.Unmarshal(msg.Data())
		if err != nil {
			s.metrics.events.WithLabelValues("invalid").Inc()
			return consume.Permanent(fmt.Errorf("decoding canonical event: %w", err))
		}
		dec := limitReplay(msg.Headers(), table.Decide(routes.NewFacts(ev)))
		for _, sk := range dec.Skips {
			s.metrics.skips.WithLabelValues(orNone(sk.Route), orNone(sk.Destination)).Inc()
			part := sk.Destination
			if part == "" {
				part = orNone(sk.Route)
			}
			s.recordMsg(msg.Headers(), ev, part, trace.Record{Outcome: trace.OutcomeSkipped, Reason: sk.Reason, Route: sk.Route, Destination: sk.Destination})
		}
		if len(dec.Targets) == 0 {
			s.metrics.events.WithLabelValues("skipped").Inc()
			return nil
		}
		targets = dec.Targets
		return nil
	})
	if err != nil || len(targets) == 0 {
		if isPanic(err) {
			s.metrics.events.WithLabelValues("panicked").Inc()
			s.log.Error().Err(err).Str("subject", msg.Subject()).Msg("routing an event panicked; dead-lettering it")
		}
		s.settler.Settle(s.work, msg, err)
		release()
		return
	}
	s.metrics.events.WithLabelValues("routed").Inc()
	p := &pendingMsg{s: s, msg: msg, ev: ev, seq: streamSeq(msg), left: len(targets), stopKA: make(chan struct{}), released: released, digest: digest}
	go p.keepAlive(max(s.cfg.AckWait/3, 10*time.Millisecond))
	for _, tg := range targets {
		if plan, later := s.planFor(p, tg, table); later {
			go p.done(tg, s.hold(p, tg, plan))
			continue
		}
		s.queueFor(tg.Destination).push(&job{p: p, ev: ev, target: tg})
	}
}

// handBack returns an event to JetStream on shutdown with a Nak, so the
// next instance gets it at once. Until the consumer has closed, events are
// collected and then naked in stream order (handBackAll): naked earlier,
// they could be redelivered to this draining consumer and come back out of
// order.
func (s *Engine) handBack(msg jetstream.Msg) {
	s.backMu.Lock()
	if !s.backNow {
		s.back = append(s.back, msg)
		s.backMu.Unlock()
		return
	}
	s.backMu.Unlock()
	s.nak(msg)
}

// handBackAll naks the events collected by handBack, in stream order, and
// from then on lets handBack nak at once.
func (s *Engine) handBackAll() {
	s.backMu.Lock()
	msgs := s.back
	s.back, s.backNow = nil, true
	s.backMu.Unlock()
	slices.SortFunc(msgs, func(a, b jetstream.Msg) int { return cmp.Compare(streamSeq(a), streamSeq(b)) })
	for _, m := range msgs {
		s.nak(m)
	}
}

func (s *Engine) nak(msg jetstream.Msg) {
	if err := msg.Nak(); err != nil {
		s.log.Warn().Err(err).Msg("handing an event back on shutdown failed; it is redelivered after AckWait")
	}
}

func streamSeq(msg jetstream.Msg) uint64 {
	if md, err := msg.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

func isPanic(err error) bool {
	var pe *consume.PanicError
	return errors.As(err, &pe)
}

func (s *Engine) queueFor(d *routes.Destination) *queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[d.Name]; ok {
		return q
	}
	name := d.Name
	q := newQueue(name, d.Rate, d.Burst, s.runJob, func(n int) { s.metrics.queueDepth.WithLabelValues(name).Set(float64(n)) })
	s.queues[name] = q
	s.qwg.Add(1)
	go func() {
		defer s.qwg.Done()
		q.loop(s.work, s.halt.Done())
	}()
	return q
}

// applyRates updates the queues' rate limits after a reload.
func (s *Engine) applyRates(t *routes.Table) {
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
	Outcome string `json:"outcome"`
	Route   string `json:"route,omitempty"`
	// TS is the thread the post started or joined, as its destination
	// named it (for Slack, the message's ts).
	TS string    `json:"ts,omitempty"`
	At time.Time `json:"at"`
	// Seq is the stream sequence of a dead-lettered event (see blocksPost).
	Seq uint64 `json:"seq,omitempty"`
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

// finalKinds are the kinds whose post is also broadcast out of its thread
// when a route says broadcast_final.
var finalKinds = map[string]bool{"pull_request.merged": true, "pull_request.closed": true, "issues.closed": true}

// runJob is the queue's worker: it posts one job and notes in the queue
// every event it hands back to JetStream. A panic while posting is a
// permanent failure of this destination: the event is dead-lettered for
// it with the panic, and the other destinations go on.
func (s *Engine) runJob(ctx context.Context, j *job) error {
	err := consume.Protect(func() error { return s.process(ctx, j) })
	if isPanic(err) {
		dest := j.target.Destination
		log := s.log.With().Str("event_id", j.ev.ID).Str("destination", dest.Name).Str("route", j.target.Route).Logger()
		log.Error().Err(err).Msg("posting an event panicked; dead-lettering it for this destination")
		err = s.deadLetter(ctx, j, sentKeyFor(j.p.msg, j.ev.ID, dest.Name), err.Error(), log)
	}
	if until := consume.RetryTime(err); !until.IsZero() {
		// Later events wait for this one only a little past when it is
		// due back: by then it came back here, or it went to another sink
		// instance, and waiting longer would stall the destination.
		s.queueFor(j.target.Destination).handedBack(j.p.seq, until, until.Add(handBackGrace))
	}
	return err
}

// process posts one job, retrying inside the queue, so the destination's
// order holds: a rate limit pauses the whole destination for its
// Retry-After and never counts as a failed try; other failures are retried
// with backoff until PostAttempts tries, then the destination is down for
// a while and its events are handed back to JetStream (see admit). It
// returns nil when the destination is done (posted, already posted or
// dead-lettered), an error marked with consume.RetryUntil when the event
// should come back later, and errStopping when shutdown interrupted a wait.
func (s *Engine) process(ctx context.Context, j *job) error {
	dest := j.target.Destination
	key := sentKeyFor(j.p.msg, j.ev.ID, dest.Name)
	log := s.log.With().Str("event_id", j.ev.ID).Str("destination", dest.Name).Str("route", j.target.Route).Logger()
	q := s.queueFor(dest)
	if until, why := q.admit(j.p.seq, s.cfg.Now(), s.cfg.Backoff(1)); !until.IsZero() {
		s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "retry_later").Inc()
		log.Debug().Time("until", until).Msg(why)
		return consume.Hold(fmt.Errorf("destination %s: %s", dest.Name, why), until)
	}
	if e, err := s.sent.Get(ctx, key); err == nil {
		var prev sentRecord
		_ = json.Unmarshal(e.Value(), &prev)
		if blocksPost(prev, j.p.seq) {
			s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "duplicate").Inc()
			log.WithLevel(duplicateLevel(j.p.msg)).Str("earlier_outcome", prev.Outcome).Str("ts", prev.TS).Msg("event already posted to this destination; not posting again (replay it to post again)")
			return nil
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return consume.RetryUntil(fmt.Errorf("reading sent record: %w", err), s.cfg.Now().Add(time.Second))
	}
	poster, ok := dest.Endpoint.(Poster)
	if !ok {
		return s.deadLetter(ctx, j, key, fmt.Sprintf("destination type %q cannot post", dest.Type), log)
	}

	th := Thread{Mentions: j.target.Mentions}
	threadKey := ""
	if t := j.ev.Data.Target; j.target.Thread && t != nil && t.Number > 0 && j.ev.Data.Repository != nil {
		threadKey = ThreadKey(dest.Name, j.ev.Data.Repository.FullName, t.Number)
		if e, err := s.threads.Get(ctx, threadKey); err == nil {
			th.ID = string(e.Value())
			th.Broadcast = j.target.BroadcastFinal && finalKinds[j.ev.Data.Kind]
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return consume.RetryUntil(fmt.Errorf("reading thread: %w", err), s.cfg.Now().Add(time.Second))
		}
	}

	var thread string
	for failures := 0; ; {
		if err := s.waitPause(q); err != nil {
			return err
		}
		if err := q.limiter.Wait(s.halt); err != nil {
			return errStopping
		}
		start := time.Now()
		t, err := s.post(ctx, poster, j, th)
		if err == nil {
			s.metrics.postTime.WithLabelValues(dest.Name).Observe(time.Since(start).Seconds())
			thread = t
			q.up()
			break
		}
		var pe *Error
		if !errors.As(err, &pe) {
			pe = Fail(Transient, err)
		}
		s.metrics.postErrs.WithLabelValues(dest.Name, pe.Class.String()).Inc()
		switch pe.Class {
		case Permanent:
			return s.deadLetter(ctx, j, key, pe.Error(), log)
		case RateLimited:
			// The whole destination waits; the same event is tried again
			// first, and the wait is not a failed try.
			q.pause(s.cfg.Now().Add(max(pe.RetryAfter, minRateLimitPause)))
			log.Debug().Err(pe).Dur("retry_after", pe.RetryAfter).Msg("the destination is rate-limited; pausing it")
			continue
		}
		failures++
		if failures >= s.cfg.PostAttempts {
			until := q.down(s.cfg.Now(), s.cfg.Backoff)
			s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "retry_later").Inc()
			log.Warn().Err(pe).Int("attempts", failures).Time("until", until).Msg("the destination keeps failing; it is down and its events go back to JetStream")
			return consume.RetryUntil(fmt.Errorf("destination %s: %w", dest.Name, pe), until)
		}
		delay := s.cfg.Backoff(failures)
		log.Debug().Err(pe).Dur("retry_in", delay).Msg("post failed; retrying")
		if err := s.cfg.Sleep(s.halt, delay); err != nil {
			return errStopping
		}
	}

	// The sent record comes first, right after the destination's answer:
	// until it is written, a redelivery would post again.
	s.markSent(ctx, key, sentRecord{Outcome: trace.OutcomePosted, Route: j.target.Route, TS: thread}, log)
	if threadKey != "" && th.ID == "" && thread != "" {
		if _, err := s.threads.Put(ctx, threadKey, []byte(thread)); err != nil {
			log.Warn().Err(err).Msg("recording the thread failed; later events start a new one")
		}
	}
	s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "posted").Inc()
	s.recordMsg(j.p.msg.Headers(), j.ev, dest.Name, trace.Record{Outcome: trace.OutcomePosted, Route: j.target.Route, Destination: dest.Name, SlackTS: thread})
	return nil
}

// waitPause waits until the destination's rate-limit pause is over. It returns
// errStopping when shutdown starts meanwhile.
func (s *Engine) waitPause(q *queue) error {
	for {
		d := q.pausedFor(s.cfg.Now())
		if d <= 0 {
			return nil
		}
		if err := s.cfg.Sleep(s.halt, d); err != nil {
			return errStopping
		}
	}
}

// redeliveryMax is the longest wait shared/consume asks JetStream for
// before redelivering a failed event (its redelivery backoff's cap).
const redeliveryMax = 5 * time.Minute

// sentTTLMargin is added to the redelivery bound in SentTTL.
const sentTTLMargin = time.Hour

// SentTTL is how long a sent record is kept: longer than the event it
// records can still be delivered to the sink once posted. An event's
// deliveries end within MaxHold (hand-backs while a destination is down or
// an earlier event goes first) plus MaxDeliver failed deliveries, each
// followed by at most AckWait and the longest redelivery wait, plus one
// AckWait for an ack that was lost; SentTTL adds an hour to that. With the
// defaults (24 h, 20, 1 min) it is 27 h. With no MaxHold there is no such
// bound and the record lives as long as the bucket keeps anything (the
// events stream's max age): SentTTL returns 0.
func SentTTL(c Config) time.Duration {
	if c.MaxHold <= 0 {
		return 0
	}
	return c.MaxHold + time.Duration(c.MaxDeliver+1)*(c.AckWait+redeliveryMax) + sentTTLMargin
}

// ttlPutter is a sent store whose records can end by themselves
// (provision.TTLBucket).
type ttlPutter interface {
	PutTTL(ctx context.Context, key string, value []byte, ttl time.Duration) (uint64, error)
}

// putSent writes a sent record, with SentTTL when the store takes one.
func (s *Engine) putSent(ctx context.Context, key string, value []byte) error {
	if p, ok := s.sent.(ttlPutter); ok {
		if ttl := SentTTL(s.cfg); ttl > 0 {
			_, err := p.PutTTL(ctx, key, value, ttl)
			return err
		}
	}
	_, err := s.sent.Put(ctx, key, value)
	return err
}

// markSentFor is how long markSent keeps trying: longer than a NATS
// cluster takes to elect a new leader of the bucket after its leader's
// node died (5-10.5 s measured), so that a failover costs no record.
const markSentFor = 15 * time.Second

// markSent records a finished destination; it retries with backoff for up
// to markSentFor, since a lost record can cost a duplicate post on
// redelivery.
func (s *Engine) markSent(ctx context.Context, key string, rec sentRecord, log zerolog.Logger) {
	rec.At = time.Now().UTC()
	b, _ := json.Marshal(rec)
	var err error
	var waited time.Duration
	wait := 200 * time.Millisecond
	for {
		if err = s.putSent(ctx, key, b); err == nil {
			return
		}
		if waited+wait > markSentFor || s.cfg.Sleep(ctx, wait) != nil {
			break
		}
		waited += wait
		wait = min(wait*2, 2*time.Second)
	}
	log.Error().Err(err).Msg("recording the post failed; a redelivery of this event could post it again")
}

func (s *Engine) deadLetter(ctx context.Context, j *job, key string, why string, log zerolog.Logger) error {
	dest := j.target.Destination
	reason := fmt.Sprintf("destination %s: %s", dest.Name, why)
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
		return consume.RetryUntil(fmt.Errorf("dead-lettering: %w", err), s.cfg.Now().Add(time.Second))
	}
	s.markSent(ctx, key, sentRecord{Outcome: trace.OutcomeDeadLettered, Route: j.target.Route, Seq: j.p.seq}, log)
	s.metrics.posts.WithLabelValues(j.target.Route, dest.Name, "dead_lettered").Inc()
	s.recordMsg(j.p.msg.Headers(), j.ev, dest.Name, trace.Record{Outcome: trace.OutcomeDeadLettered, Reason: reason, Route: j.target.Route, Destination: dest.Name})
	log.Warn().Str("reason", reason).Msg("event dead-lettered for this destination")
	return nil
}
