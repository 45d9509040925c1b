package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file holds what the engine does for quiet hours and digests: an
// event a destination's quiet hours or a route's digest hold back is handed
// to the Holder (the sink's JetStream store of held events) instead of its
// destination's queue; when it is due, the holder publishes it again with
// HeaderReleaseTo (or a digest of what was collected, with HeaderDigest),
// and the engine posts that message to that one destination like any other
// event: in order, at the destination's rate, once.

// Headers of the messages the holder releases.
const (
	// HeaderReleaseTo names the one destination of a released event or digest.
	HeaderReleaseTo = "Ghnotify-Release-To"
	// HeaderReleaseRoute names the route that held or collected it.
	HeaderReleaseRoute = "Ghnotify-Release-Route"
	// HeaderDigest marks a digest: the message is a schedule.Batch in JSON.
	HeaderDigest = "Ghnotify-Digest"
)

// Held is an event held back from one destination.
type Held struct {
	// Data and Header are the event's message as the engine received it.
	Data   []byte
	Header nats.Header
	Event  *event.Event
	Route  string
	// Destination is the destination it is held back from.
	Destination string
	Plan        schedule.Plan
}

// Holder keeps held events until they are due, durably.
type Holder interface {
	Hold(ctx context.Context, h Held) error
}

// DigestPoster is a Poster that can also post a digest.
type DigestPoster interface {
	PostDigest(ctx context.Context, b *schedule.Batch) (thread string, err error)
}

// planFor says whether the event of p goes to tg now (ok false) or is held
// back by quiet hours or a digest. Released events, replays (an operator
// asked for them now) and an engine without a holder post now.
func (s *Engine) planFor(p *pendingMsg, tg routes.Target, table *routes.Table) (schedule.Plan, bool) {
	if s.held == nil || p.released || replay.ID(p.msg.Headers()) != "" {
		return schedule.Plan{}, false
	}
	plan := table.Plan(tg, routes.NewFacts(p.ev), s.cfg.Now())
	return plan, plan.Action != schedule.Post
}

// hold hands the event of p for tg to the holder and records it.
func (s *Engine) hold(p *pendingMsg, tg routes.Target, plan schedule.Plan) error {
	dest := tg.Destination.Name
	err := consume.Protect(func() error {
		return s.held.Hold(s.work, Held{Data: p.msg.Data(), Header: p.msg.Headers(), Event: p.ev, Route: tg.Route, Destination: dest, Plan: plan})
	})
	if err != nil {
		s.log.Warn().Err(err).Str("event_id", p.ev.ID).Str("destination", dest).Msg("holding an event failed; it is redelivered")
		return consume.RetryUntil(fmt.Errorf("destination %s: holding the event: %w", dest, err), s.cfg.Now().Add(time.Second))
	}
	outcome := trace.OutcomeHeld
	if plan.Action == schedule.Collect {
		outcome = trace.OutcomeDigested
	}
	s.metrics.posts.WithLabelValues(tg.Route, dest, outcome).Inc()
	s.recordMsg(p.msg.Headers(), p.ev, dest, trace.Record{Outcome: outcome, Reason: routes.DescribePlan(plan, tg.Route, dest), Route: tg.Route, Destination: dest}, "held")
	return nil
}

// released decodes a message the holder released: the event (or, for a
// digest, an event standing for it) and its one target. A destination no
// longer in the routes file, or a digest it cannot post, is a permanent
// failure: the message is dead-lettered.
func (s *Engine) released(msg jetstream.Msg, table *routes.Table) (*event.Event, *schedule.Batch, []routes.Target, error) {
	h := msg.Headers()
	to, route := h.Get(HeaderReleaseTo), h.Get(HeaderReleaseRoute)
	var ev *event.Event
	var batch *schedule.Batch
	if id := h.Get(HeaderDigest); id != "" {
		batch = &schedule.Batch{}
		if err := json.Unmarshal(msg.Data(), batch); err != nil {
			return nil, nil, nil, consume.Permanent(fmt.Errorf("decoding digest %s: %w", id, err))
		}
		ev = &event.Event{ID: batch.ID, Data: event.Data{Kind: "digest", Event: "digest", DeliveryID: batch.ID}}
	} else {
		var err error
		if ev, err = event.Unmarshal(msg.Data()); err != nil {
			return nil, nil, nil, consume.Permanent(fmt.Errorf("decoding released event: %w", err))
		}
	}
	dest := table.Destinations[to]
	if dest == nil {
		return ev, batch, nil, consume.Permanent(fmt.Errorf("releasing to destination %s: it is no longer in the routes file", to))
	}
	if batch != nil {
		if _, ok := dest.Endpoint.(DigestPoster); !ok {
			return ev, batch, nil, consume.Permanent(fmt.Errorf("destination %s (%s) cannot post a digest", to, dest.Type))
		}
	}
	tg := routes.Target{Route: route, Destination: dest, Mentions: routes.Mentions{People: table.People}}
	for _, r := range table.Routes {
		if r.Name == route {
			tg.Thread, tg.BroadcastFinal = r.Thread, r.BroadcastFinal
			tg.Mentions.Extra = r.Mention
		}
	}
	return ev, batch, []routes.Target{tg}, nil
}

// post posts a job: its digest, or its event.
func (s *Engine) post(ctx context.Context, poster Poster, j *job, th Thread) (string, error) {
	if b := j.p.digest; b != nil {
		dp, ok := poster.(DigestPoster)
		if !ok {
			return "", Fail(Permanent, fmt.Errorf("destination type %s cannot post a digest", j.target.Destination.Type))
		}
		return dp.PostDigest(ctx, b)
	}
	return poster.Post(ctx, j.ev, th)
}
