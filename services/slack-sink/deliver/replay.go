package deliver

import (
	"fmt"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// This file holds what the sink does with replayed events (see
// shared/replay and docs/operations.md): a replayed event has a sent record
// of its own per replay id, may be limited to one destination, and is
// traced apart from the original.

// sentKeyFor is the sent-bucket key of a job: SentKey, plus the replay id
// when the event was replayed, so that a replay posts once (even when
// redelivered) whatever the original did.
func sentKeyFor(msg jetstream.Msg, eventID, destination string) string {
	k := SentKey(eventID, destination)
	if id := replay.ID(msg.Headers()); id != "" {
		k += "." + trace.KeyPart("replay-"+id)
	}
	return k
}

// blocksPost reports whether an earlier sent record keeps the event from
// being posted: a post always does; a dead letter only for a redelivery of
// the very message that was dead-lettered (stream sequence seq), so an
// event published again after its dead letter (by hand, or redriven) is
// posted.
func blocksPost(prev sentRecord, seq uint64) bool {
	switch prev.Outcome {
	case trace.OutcomePosted:
		return true
	case trace.OutcomeDeadLettered:
		return prev.Seq != 0 && prev.Seq == seq
	}
	return false
}

// limitReplay keeps only the destination a replayed event is limited to
// (Ghnotify-Replay-To); when the routes do not send the event there, the
// decision has no target and says why.
func limitReplay(h nats.Header, d routes.Decision) routes.Decision {
	to := replay.To(h)
	if to == "" {
		return d
	}
	var out routes.Decision
	out.Skips = d.Skips
	for _, tg := range d.Targets {
		if tg.Destination.Name == to {
			out.Targets = append(out.Targets, tg)
		}
	}
	if len(out.Targets) == 0 {
		out.Skips = append(out.Skips, routes.Skip{Destination: to, Reason: fmt.Sprintf("replay limited to destination %s, which the routes do not send this event to", to)})
	}
	return out
}

// recordMsg writes a trace record of the event carried by a message with
// headers h; the record of a replayed event carries the replay id and has a
// key of its own, so it does not overwrite the original's.
func (s *Engine) recordMsg(h nats.Header, ev *event.Event, part string, rec trace.Record, extra ...string) {
	rec.Stage = trace.StageSink
	rec.DeliveryID = ev.Data.DeliveryID
	rec.Event = ev.Data.Event
	rec.EventID = ev.ID
	rec.Kinds = []string{ev.Data.Kind}
	parts := append([]string{ev.ID, part}, extra...)
	if id := replay.ID(h); id != "" {
		rec.Replay = id
		parts = append(parts, "replay", id)
	}
	key := trace.Key(ev.Data.DeliveryID, trace.StageSink, parts...)
	if err := s.trace.Put(s.work, key, rec); err != nil {
		s.log.Warn().Err(err).Str("key", key).Msg("writing trace record failed")
	}
}

// duplicateLevel is the log level of "already posted": info for a copy
// published again (first delivery of its message), which an operator may be
// looking for; debug for a redelivery, routine after a restart or while
// another destination of the event is retried.
func duplicateLevel(msg jetstream.Msg) zerolog.Level {
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		return zerolog.DebugLevel
	}
	return zerolog.InfoLevel
}
