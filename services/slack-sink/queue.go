package sink

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// queue runs the posts of one destination one at a time, in the order
// they were enqueued, at the destination's rate. Each destination has its
// own queue, so one rate-limited or failing destination never delays
// another.
type queue struct {
	name    string
	limiter *rate.Limiter
	run     func(ctx context.Context, j *job) error
	onDepth func(n int)

	mu      sync.Mutex
	jobs    []*job
	wake    chan struct{}
	stopped chan struct{}
}

func newQueue(name string, perSecond float64, burst int, run func(ctx context.Context, j *job) error, onDepth func(int)) *queue {
	lim := rate.NewLimiter(rate.Inf, 0)
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
	return &queue{name: name, limiter: lim, run: run, onDepth: onDepth, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
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

// loop runs jobs until ctx ends; jobs left then are finished with ctx's error.
func (q *queue) loop(ctx context.Context) {
	defer close(q.stopped)
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
		j.finish(q.run(ctx, j))
	}
}
