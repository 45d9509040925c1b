package deliver

import (
	"context"
	"sync"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"golang.org/x/time/rate"
)

// queue runs the posts of one destination one at a time, in the order
// they were enqueued, at the destination's rate. Each destination has its
// own queue, so one rate-limited or failing destination never delays
// another's posts.
//
// The queue also keeps the destination's state: until when the destination asked it
// to wait (Retry-After), until when it is considered down after
// repeated failures, and which events it handed back to JetStream, so that
// no later event is posted before an earlier one comes back.
type queue struct {
	name    string
	limiter *rate.Limiter
	run     func(ctx context.Context, j *job) error
	onDepth func(n int)

	mu      sync.Mutex
	jobs    []*job
	wake    chan struct{}
	stopped chan struct{}

	// pausedUntil: no request before (the destination's Retry-After).
	pausedUntil time.Time
	// downUntil: every event is handed back until then; downStreak counts
	// the down periods in a row, for their growing length.
	downUntil  time.Time
	downStreak int
	// back maps the stream sequence of each event handed back to when it
	// is due back and when the queue stops waiting for it (it may have gone
	// to another instance).
	back map[uint64]backEntry
}

type backEntry struct{ until, forget time.Time }

// staggerStep spaces the returns of events handed back together, one step
// per stream sequence after the earliest, so that JetStream redelivers them
// in stream order and each finds the ones before it already done; without
// it they would return at once and all but the earliest go back again.
const (
	staggerStep = 2 * time.Millisecond
	maxStagger  = 10 * time.Second
)

func stagger(seq, first uint64) time.Duration {
	if seq <= first {
		return 0
	}
	return min(time.Duration(seq-first)*staggerStep, maxStagger)
}

func newQueue(name string, perSecond float64, burst int, run func(ctx context.Context, j *job) error, onDepth func(int)) *queue {
	lim := rate.NewLimiter(rate.Inf, 0)
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
	return &queue{name: name, limiter: lim, run: run, onDepth: onDepth, wake: make(chan struct{}, 1), stopped: make(chan struct{}), back: map[uint64]backEntry{}}
}

// setRate applies a reloaded destination's rate limit.
func (q *queue) setRate(perSecond float64, burst int) {
	if perSecond <= 0 {
		q.limiter.SetLimit(rate.Inf)
		return
	}
	q.limiter.SetLimit(rate.Limit(perSecond))
	q.limiter.SetBurst(max(burst, 1))
}

// push appends j; it never blocks.
func (q *queue) push(j *job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	n := len(q.jobs)
	q.mu.Unlock()
	q.onDepth(n)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) pop() (*job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		return nil, false
	}
	j := q.jobs[0]
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	q.onDepth(len(q.jobs))
	return j, true
}

// takeAll removes and returns every waiting job.
func (q *queue) takeAll() []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	jobs := q.jobs
	q.jobs = nil
	q.onDepth(0)
	return jobs
}

// loop runs jobs until ctx ends; jobs left then are finished with ctx's
// error. Once halt is done (shutdown), jobs not yet started are finished
// with errStopping at once, so their events go straight back to JetStream. A panic
// in run fails its job permanently instead of ending the loop.
func (q *queue) loop(ctx context.Context, halt <-chan struct{}) {
	defer close(q.stopped)
	go func() {
		// Shutdown hands back the waiting jobs at once, even while the
		// loop is still busy with a post in flight.
		select {
		case <-halt:
			for _, j := range q.takeAll() {
				j.finish(errStopping)
			}
		case <-q.stopped:
		}
	}()
	for {
		j, ok := q.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if ctx.Err() != nil {
			j.finish(ctx.Err())
			continue
		}
		select {
		case <-halt:
			j.finish(errStopping)
			continue
		default:
		}
		j.finish(consume.Protect(func() error { return q.run(ctx, j) }))
	}
}

// admit says whether the event with stream sequence seq may be tried at
// now: not while the destination is down, nor while an earlier event it
// handed back has not come back. Otherwise it returns until when to hand
// the event back and why.
func (q *queue) admit(seq uint64, now time.Time, gap time.Duration) (time.Time, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.back, seq)
	first, due, earlier := uint64(0), time.Time{}, false
	for s, b := range q.back {
		if now.After(b.forget) {
			delete(q.back, s)
			continue
		}
		if s < seq && (!earlier || s < first) {
			// The earliest event waited for sets the pace: every later one
			// is due a step per sequence number after it.
			first, due, earlier = s, b.until, true
		}
	}
	if now.Before(q.downUntil) {
		if !earlier {
			first = seq
		}
		return q.downUntil.Add(stagger(seq, first)), "destination is failing; event handed back until it is tried again"
	}
	if earlier {
		// Come back after the earlier events, in stream order; if they
		// are overdue, try again a little later.
		if !due.After(now) {
			due = now.Add(gap)
		}
		return due.Add(stagger(seq, first)), "an earlier event of this destination is waiting for its redelivery; handed back to keep the order"
	}
	return time.Time{}, ""
}

// handedBack notes that the event with stream sequence seq went back to
// JetStream until until; later events wait for it until forget.
func (q *queue) handedBack(seq uint64, until, forget time.Time) {
	if seq == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.back[seq] = backEntry{until: until, forget: forget}
}

// forget stops waiting for seq (it was dead-lettered and will not return).
func (q *queue) forget(seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.back, seq)
}

// pause stops requests to the destination until until.
func (q *queue) pause(until time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if until.After(q.pausedUntil) {
		q.pausedUntil = until
	}
}

// pausedFor is how long requests must still wait at now.
func (q *queue) pausedFor(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pausedUntil.Sub(now)
}

// down marks the destination down from now for a period growing with
// each down period in a row, and returns its end.
func (q *queue) down(now time.Time, backoff func(int) time.Duration) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.downStreak++
	q.downUntil = now.Add(backoff(q.downStreak))
	return q.downUntil
}

// up records a successful request: the destination is no longer down.
func (q *queue) up() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.downStreak = 0
	q.downUntil = time.Time{}
}
