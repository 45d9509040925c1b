package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// The held store keeps what quiet hours and digests hold back, in the
// GHNOTIFY_HELD stream, so that it survives restarts and is released once
// by one of several sink instances. A batch is what is released together:
// the events held for one destination until one end of quiet hours, or
// collected by one route for one destination in one digest period.
//
//	ghnotify.held.items.<batch>  the held events, in order (Hold)
//	ghnotify.held.sched.<batch>  a message schedule (@at the release time),
//	                             published again with every event held
//	ghnotify.held.due.<batch>    what the schedule fires; the shared durable
//	                             consumer slack-sink-due gives each to one
//	                             instance, which releases the batch (release)
//	ghnotify.held.out.<dest>     released events and digests; the consumer
//	                             slack-sink-released hands them to the engine,
//	                             which posts them like any event
//
// Releasing publishes every held event (or one digest) to its out subject
// with a message id derived from the held messages, then purges them: a
// schedule fired again, or a trigger redelivered after a crash, finds
// nothing left or publishes the same ids, and the engine's sent records stop
// a second post. An event held while its batch was being released
// publishes the schedule again, whose time has passed, so it fires again at
// once and releases the latecomer.
const (
	heldItems = "ghnotify.held.items."
	heldSched = "ghnotify.held.sched."
	heldDue   = "ghnotify.held.due."
	heldOut   = "ghnotify.held.out."
)

// batchInfo is the body of a batch's schedule: what to release and how.
type batchInfo struct {
	// Kind is "quiet" (post each event) or "digest".
	Kind        string    `json:"kind"`
	Route       string    `json:"route"`
	Destination string    `json:"destination"`
	Start       time.Time `json:"start,omitzero"`
	End         time.Time `json:"end,omitzero"`
	Until       time.Time `json:"until"`
	Zone        string    `json:"zone,omitempty"`
}

// heldStore is the engine's Holder and releases batches when they are due.
type heldStore struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// now is the clock plans are made with (Config.Now); the server's
	// schedule fires after the same delay on its own clock.
	now   func() time.Time
	table func() *routes.Table
	dlq   consume.DeadLetterer
	log   zerolog.Logger
}

// batchOf names the batch a held event belongs to.
func batchOf(h deliver.Held) (string, batchInfo) {
	info := batchInfo{Route: h.Route, Destination: h.Destination, Until: h.Plan.Until.UTC()}
	if h.Plan.Action == schedule.Collect {
		info.Kind, info.Start, info.End = "digest", h.Plan.Start.UTC(), h.Plan.End.UTC()
		info.Zone = h.Plan.Start.Location().String()
		return "digest." + trace.KeyPart(h.Route) + "." + trace.KeyPart(h.Destination) + "." + strconv.FormatInt(h.Plan.End.Unix(), 10), info
	}
	info.Kind = "quiet"
	return "quiet." + trace.KeyPart(h.Destination) + "." + strconv.FormatInt(h.Plan.Until.Unix(), 10), info
}

// Hold stores the event in its batch, then (re)publishes the batch's
// schedule.
func (s *heldStore) Hold(ctx context.Context, h deliver.Held) error {
	batch, info := batchOf(h)
	m := nats.NewMsg(heldItems + batch)
	m.Data = h.Data
	copyHeaders(m.Header, h.Header)
	m.Header.Set(deliver.HeaderReleaseRoute, h.Route)
	if _, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID("held:"+h.Event.ID+":"+batch)); err != nil {
		return fmt.Errorf("storing the held event: %w", err)
	}
	body, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encoding the schedule: %w", err)
	}
	// The schedule fires after the plan's delay; @at has whole seconds,
	// rounded up so that nothing is released before it is due.
	at := time.Now().Add(h.Plan.Until.Sub(s.now()))
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	sm := nats.NewMsg(heldSched + batch)
	sm.Data = body
	if _, err := s.js.PublishMsg(ctx, sm, jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(heldDue+batch)); err != nil {
		return fmt.Errorf("scheduling the release: %w", err)
	}
	return nil
}

// copyHeaders copies the event's headers but the server's own.
func copyHeaders(dst, src nats.Header) {
	for k, vs := range src {
		if strings.HasPrefix(k, "Nats-") || k == deliver.HeaderReleaseTo || k == deliver.HeaderDigest {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

// release is the handler of the due consumer: it releases the batch a
// schedule fired for. An error makes the trigger come back (and, after
// MaxDeliver, go to the dead-letter stream, from where redriving it
// releases the batch).
func (s *heldStore) release(ctx context.Context, msg jetstream.Msg) error {
	batch := strings.TrimPrefix(msg.Subject(), heldDue)
	var info batchInfo
	if err := json.Unmarshal(msg.Data(), &info); err != nil || info.Destination == "" {
		return consume.Permanent(fmt.Errorf("decoding the schedule of batch %s: %v", batch, err))
	}
	items, err := s.read(ctx, heldItems+batch)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil // released already, or nothing was collected
	}
	first, last := seqOf(items[0]), seqOf(items[len(items)-1])
	log := s.log.With().Str("batch", batch).Str("destination", info.Destination).Int("events", len(items)).Logger()
	if info.Kind == "digest" && s.canDigest(info.Destination) {
		if err := s.releaseDigest(ctx, info, items, first, last); err != nil {
			return err
		}
	} else {
		for i, it := range items {
			if i%100 == 99 {
				_ = msg.InProgress() // a long batch keeps its trigger
			}
			m := nats.NewMsg(heldOut + trace.KeyPart(info.Destination))
			m.Data = it.Data()
			copyHeaders(m.Header, it.Headers())
			m.Header.Set(deliver.HeaderReleaseTo, info.Destination)
			m.Header.Set(deliver.HeaderReleaseRoute, it.Headers().Get(deliver.HeaderReleaseRoute))
			if _, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID("release:"+strconv.FormatUint(seqOf(it), 10))); err != nil {
				return fmt.Errorf("releasing held event: %w", err)
			}
		}
	}
	if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(heldItems+batch), jetstream.WithPurgeSequence(last+1)); err != nil {
		// Released anyway: a later release of the batch publishes the same
		// message ids, and the sent records stop a second post.
		log.Warn().Err(err).Msg("purging a released batch failed")
	}
	log.Info().Str("kind", info.Kind).Msg("released held events")
	return nil
}

// releaseDigest publishes the digest of the collected events. An event
// that cannot be decoded goes to the dead-letter stream.
func (s *heldStore) releaseDigest(ctx context.Context, info batchInfo, items []jetstream.Msg, first, last uint64) error {
	var col []schedule.Item
	for _, it := range items {
		ev, err := event.Unmarshal(it.Data())
		if err != nil {
			l := deadletter.FromMsg(trace.StageSink, it, "collected for a digest but not decodable: "+err.Error())
			if err := s.dlq.Publish(ctx, l); err != nil {
				return fmt.Errorf("dead-lettering a held event: %w", err)
			}
			continue
		}
		col = append(col, schedule.ItemOf(ev))
	}
	if len(col) == 0 {
		return nil
	}
	id := fmt.Sprintf("digest:%s:%s:%s:%d-%d", info.Route, info.Destination, info.End.Format(time.RFC3339), first, last)
	b := schedule.Gather(schedule.Batch{ID: id, Route: info.Route, Destination: info.Destination, Start: info.Start, End: info.End, Zone: info.Zone}, col)
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encoding digest: %w", err)
	}
	m := nats.NewMsg(heldOut + trace.KeyPart(info.Destination))
	m.Data = body
	m.Header.Set(deliver.HeaderReleaseTo, info.Destination)
	m.Header.Set(deliver.HeaderReleaseRoute, info.Route)
	m.Header.Set(deliver.HeaderDigest, id)
	if _, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("publishing digest: %w", err)
	}
	return nil
}

// canDigest reports whether the destination can post a digest; one that
// cannot (signed HTTP) gets the collected events one by one.
func (s *heldStore) canDigest(dest string) bool {
	d := s.table().Destinations[dest]
	if d == nil {
		return true // the engine dead-letters the digest, naming why
	}
	_, ok := d.Endpoint.(deliver.DigestPoster)
	return ok
}

// read returns every message on subj, in stream order.
func (s *heldStore) read(ctx context.Context, subj string) ([]jetstream.Msg, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return nil, fmt.Errorf("reading held stream info: %w", err)
	}
	if info.State.Subjects[subj] == 0 {
		return nil, nil
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		return nil, fmt.Errorf("reading held events: %w", err)
	}
	var out []jetstream.Msg
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("reading held events: %w", err)
		}
		got := 0
		done := false
		for m := range batch.Messages() {
			got++
			out = append(out, m)
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("reading held events: %w", err)
		}
		if done || got == 0 {
			return out, nil
		}
	}
}

func seqOf(m jetstream.Msg) uint64 {
	if md, err := m.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

// openHeld opens the held stream; serve starts releasing once the store
// has its routing table.
func openHeld(ctx context.Context, cfg Config, js jetstream.JetStream, log zerolog.Logger) (*heldStore, error) {
	stream, err := js.Stream(ctx, provision.StreamHeld)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", provision.StreamHeld, err)
	}
	return &heldStore{js: js, stream: stream, now: cfg.Now, dlq: &deadletter.Publisher{JS: js}, log: log}, nil
}

// serve creates the held store's consumers and releases due batches until
// ctx ends (done then reports the end); the consumer of released events is
// returned for the caller to serve with the engine.
func (s *heldStore) serve(ctx context.Context, cfg Config, table func() *routes.Table) (released jetstream.Consumer, done <-chan error, err error) {
	s.table = table
	due, err := s.js.CreateOrUpdateConsumer(ctx, provision.StreamHeld, jetstream.ConsumerConfig{
		Durable:       provision.ConsumerSinkDue,
		Description:   "Slack sink: releases held events and digests when their schedule fires.",
		FilterSubject: heldDue + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    provision.ConsumerMaxDeliver,
		// One release at a time across every instance: a schedule fired
		// again for a latecomer waits until the release before it has
		// purged what it released, so a digest never counts an event twice.
		MaxAckPending: 1,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating consumer %s: %w", provision.ConsumerSinkDue, err)
	}
	released, err = s.js.CreateOrUpdateConsumer(ctx, provision.StreamHeld, jetstream.ConsumerConfig{
		Durable:       provision.ConsumerSinkReleased,
		Description:   "Slack sink: posts released events and digests.",
		FilterSubject: heldOut + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    provision.ConsumerMaxDeliver,
		MaxAckPending: max(sinkMaxAckPending, cfg.MaxInFlight*2),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating consumer %s: %w", provision.ConsumerSinkReleased, err)
	}
	settler := &consume.Settler{Stage: trace.StageSink, DLQ: s.dlq, MaxDeliver: cfg.MaxDeliver, Now: cfg.Now, Log: s.log}
	errc := make(chan error, 1)
	go func() { errc <- consume.Run(ctx, due, s.release, settler) }()
	return released, errc, nil
}
