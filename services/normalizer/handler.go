package normalizer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// tracePutter writes one trace record; *trace.Store is one.
type tracePutter interface {
	Put(ctx context.Context, key string, rec trace.Record) error
}

// handler is the JetStream side of the normalizer: it reads a raw message,
// calls normalize.Normalize, publishes the events and records the outcome.
// It never acks; the consume loop settles the message from its result.
type handler struct {
	js             jetstream.JetStream
	traces         tracePutter
	publishTimeout time.Duration
	log            zerolog.Logger
	observe        func(delivery.Delivery, []event.Event)
}

// handle normalizes one raw message. Errors that retrying cannot fix are
// consume.Permanent; the rest are retried.
func (h *handler) handle(ctx context.Context, msg jetstream.Msg) error {
	hdr := msg.Headers()
	body, err := rawbody.Load(ctx, h.js, hdr, msg.Data())
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return consume.Permanent(fmt.Errorf("loading raw body: %w", err))
		}
		return fmt.Errorf("loading raw body: %w", err)
	}
	d, err := delivery.FromMsg(hdr, body)
	if err != nil {
		return consume.Permanent(fmt.Errorf("reading raw delivery: %w", err))
	}
	// The raw message is the gateway's record of the delivery: its stream
	// sequence goes into the trace so that the trace shows where it is.
	var rawSeq uint64
	if md, err := msg.Metadata(); err == nil {
		rawSeq = md.Sequence.Stream
		if d.ReceivedAt.IsZero() {
			// The stream's own timestamp is the same on every redelivery.
			d.ReceivedAt = md.Timestamp
		}
	}
	evs, err := normalize.Normalize(d)
	if err != nil {
		return consume.Permanent(fmt.Errorf("normalizing delivery %s: %w", d.ID, err))
	}
	rec := trace.Record{
		Stage:       trace.StageNormalizer,
		DeliveryID:  d.ID,
		Event:       d.Event,
		Outcome:     trace.OutcomeNormalized,
		RawSequence: rawSeq,
		ReceivedAt:  d.ReceivedAt,
		Replay:      replay.ID(hdr),
	}
	for i := range evs {
		subj, err := h.publish(ctx, &evs[i], hdr)
		if err != nil {
			return err
		}
		rec.Kinds = append(rec.Kinds, evs[i].Data.Kind)
		rec.Subjects = append(rec.Subjects, subj)
	}
	key := trace.Key(d.ID, trace.StageNormalizer)
	if rec.Replay != "" {
		key = trace.Key(d.ID, trace.StageNormalizer, "replay", rec.Replay)
	}
	if err := h.traces.Put(ctx, key, rec); err != nil {
		return fmt.Errorf("recording outcome of delivery %s: %w", d.ID, err)
	}
	if h.observe != nil {
		h.observe(d, evs)
	}
	h.log.Debug().Str("delivery", d.ID).Strs("kinds", rec.Kinds).Msg("delivery normalized")
	return nil
}

// publish stores one event on its subject and waits for the PubAck. The
// event id is the message id, so republishing after a crash is deduplicated
// by the stream. The events of a replayed raw delivery (raw headers rawHdr
// with Ghnotify-Replay) carry the replay headers and a message id of their
// own, so the replay is neither dropped as a duplicate nor skipped by the
// sink as already posted.
func (h *handler) publish(ctx context.Context, ev *event.Event, rawHdr nats.Header) (string, error) {
	b, err := event.Marshal(ev)
	if err != nil {
		return "", consume.Permanent(err)
	}
	subj := normalize.Subject(ev)
	m := nats.NewMsg(subj)
	m.Data = b
	m.Header.Set(jetstream.MsgIDHeader, ev.ID)
	if id := replay.ID(rawHdr); id != "" {
		m.Header.Set(jetstream.MsgIDHeader, replay.MsgID(ev.ID, id))
		m.Header.Set(replay.HeaderID, id)
		if to := replay.To(rawHdr); to != "" {
			m.Header.Set(replay.HeaderTo, to)
		}
	}
	m.Header.Set("Content-Type", event.MessageContentType)
	m.Header.Set(event.HeaderKind, ev.Data.Kind)
	m.Header.Set(delivery.HeaderEvent, ev.Data.Event)
	m.Header.Set(delivery.HeaderDelivery, ev.Data.DeliveryID)
	pctx, cancel := context.WithTimeout(ctx, h.publishTimeout)
	defer cancel()
	if _, err := h.js.PublishMsg(pctx, m); err != nil {
		return "", fmt.Errorf("publishing event %s: %w", ev.ID, err)
	}
	return subj, nil
}

// tracingDeadLetterer dead-letters a message, then records the outcome in
// the trace bucket, for permanent failures and for messages that ran out of
// deliveries alike. A failed trace write fails the whole step, so the
// message is redelivered and dead-lettered again (the dead letter itself is
// deduplicated) until the record is written.
type tracingDeadLetterer struct {
	next   consume.DeadLetterer
	traces tracePutter
}

// Publish stores l in the dead-letter stream and records it.
func (t *tracingDeadLetterer) Publish(ctx context.Context, l deadletter.Letter) error {
	if err := t.next.Publish(ctx, l); err != nil {
		return err
	}
	id := l.Header.Get(delivery.HeaderDelivery)
	if id == "" {
		id = fmt.Sprintf("%s:%d", l.Stream, l.Sequence)
	}
	rec := trace.Record{
		Stage:      trace.StageNormalizer,
		DeliveryID: id,
		Event:      l.Header.Get(delivery.HeaderEvent),
		Outcome:    trace.OutcomeDeadLettered,
		Reason:     l.Reason,
		Replay:     replay.ID(l.Header),
	}
	key := trace.Key(id, trace.StageNormalizer)
	if rec.Replay != "" {
		key = trace.Key(id, trace.StageNormalizer, "replay", rec.Replay)
	}
	if err := t.traces.Put(ctx, key, rec); err != nil {
		return fmt.Errorf("recording dead letter of %s: %w", id, err)
	}
	return nil
}
