package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoLeader is a replicated stream that has no leader (an election is
// under way, or too few of its servers are up): nothing can be written to
// it until one is elected.
var ErrNoLeader = errors.New("stream has no leader")

// CheckLeader asks for stream's info and fails when the stream cannot be
// reached or, on a cluster, has no leader. A replica without a leader
// answers the info request itself, so reaching the stream alone does not
// mean it can be written.
func CheckLeader(ctx context.Context, js jetstream.JetStream, stream string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s unreachable: %w", stream, err)
	}
	return leaderOf(stream, s.CachedInfo())
}

func leaderOf(stream string, info *jetstream.StreamInfo) error {
	if info != nil && info.Cluster != nil && info.Cluster.Leader == "" {
		return fmt.Errorf("stream %s: %w", stream, ErrNoLeader)
	}
	return nil
}

// LeaderCheck is CheckLeader for a readiness probe: it checks one stream at
// most once per Every (a second by default), reusing the last answer
// in between, so that probes stay cheap.
type LeaderCheck struct {
	JS     jetstream.JetStream
	Stream string
	Every  time.Duration

	mu      sync.Mutex
	checked time.Time
	err     error
}

// Check returns the last answer if it is fresh, else asks again.
func (c *LeaderCheck) Check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.Every
	if every <= 0 {
		every = time.Second
	}
	if !c.checked.IsZero() && time.Since(c.checked) < every {
		return c.err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c.err = CheckLeader(ctx, c.JS, c.Stream)
	c.checked = time.Now()
	return c.err
}
