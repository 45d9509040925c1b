package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Statuses a delivery can have, for `deliveries --status`.
const (
	statusStored       = "stored"
	statusNormalized   = "normalized"
	statusPosted       = "posted"
	statusSkipped      = "skipped"
	statusFailed       = "failed"
	statusDeadLettered = "dead-lettered"
	// statusRetrying: an event the sink has neither acknowledged nor
	// traced yet (waiting, or being retried).
	statusRetrying = "retrying"
)

var allStatuses = []string{statusStored, statusNormalized, statusPosted, statusSkipped, statusRetrying, statusFailed, statusDeadLettered}

// rawCopy is one raw message of a delivery: the stored original, or a
// replayed copy.
type rawCopy struct {
	Sequence   uint64    `json:"sequence"`
	Subject    string    `json:"subject"`
	StoredAt   time.Time `json:"stored_at"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	HookID     string    `json:"hook_id,omitempty"`
	Replay     string    `json:"replay,omitempty"`
}

// eventCopy is one event message of a delivery.
type eventCopy struct {
	Sequence uint64    `json:"sequence"`
	Subject  string    `json:"subject"`
	EventID  string    `json:"event_id"`
	Kind     string    `json:"kind,omitempty"`
	StoredAt time.Time `json:"stored_at"`
	Replay   string    `json:"replay,omitempty"`
	ReplayTo string    `json:"replay_to,omitempty"`
}

// fate is what one stage did, for one destination at the sink.
type fate struct {
	Stage       string    `json:"stage"`
	Outcome     string    `json:"outcome"`
	Kind        string    `json:"kind,omitempty"`
	Route       string    `json:"route,omitempty"`
	Destination string    `json:"destination,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	SlackTS     string    `json:"slack_ts,omitempty"`
	Replay      string    `json:"replay,omitempty"`
	At          time.Time `json:"at"`
}

// deliveryView is everything known about one delivery.
type deliveryView struct {
	DeliveryID  string           `json:"delivery_id"`
	Event       string           `json:"event,omitempty"`
	Kinds       []string         `json:"kinds,omitempty"`
	Repository  string           `json:"repository,omitempty"`
	ReceivedAt  time.Time        `json:"received_at,omitzero"`
	Statuses    []string         `json:"statuses"`
	Raw         []rawCopy        `json:"raw,omitempty"`
	Events      []eventCopy      `json:"events,omitempty"`
	Fates       []fate           `json:"fates,omitempty"`
	DeadLetters []deadLetterInfo `json:"dead_letters,omitempty"`
	// AtSink are the events the sink has not acknowledged and has no
	// trace record of: waiting for it, or being retried.
	AtSink []string `json:"at_sink,omitempty"`
}

// when is the delivery's time: when the gateway received it, else the
// earliest thing known.
func (v *deliveryView) when() time.Time {
	if !v.ReceivedAt.IsZero() {
		return v.ReceivedAt
	}
	var t time.Time
	for _, r := range v.Raw {
		if t.IsZero() || r.StoredAt.Before(t) {
			t = r.StoredAt
		}
	}
	for _, f := range v.Fates {
		if t.IsZero() || f.At.Before(t) {
			t = f.At
		}
	}
	return t
}

func rawCopyOf(m jetstream.Msg) (rawCopy, error) {
	md, err := m.Metadata()
	if err != nil {
		return rawCopy{}, err
	}
	h := m.Headers()
	c := rawCopy{Sequence: md.Sequence.Stream, Subject: m.Subject(), StoredAt: md.Timestamp.UTC(), HookID: h.Get(delivery.HeaderHookID), Replay: replay.ID(h)}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(delivery.HeaderReceivedAt)); err == nil {
		c.ReceivedAt = t.UTC()
	}
	return c, nil
}

func eventCopyOf(m jetstream.Msg) (eventCopy, error) {
	md, err := m.Metadata()
	if err != nil {
		return eventCopy{}, err
	}
	h := m.Headers()
	id := h.Get(jetstream.MsgIDHeader)
	if r := replay.ID(h); r != "" {
		id = strings.TrimSuffix(id, "/replay/"+r)
	}
	return eventCopy{Sequence: md.Sequence.Stream, Subject: m.Subject(), EventID: id, Kind: h.Get(event.HeaderKind),
		StoredAt: md.Timestamp.UTC(), Replay: replay.ID(h), ReplayTo: replay.To(h)}, nil
}

// views collects delivery views by id.
type views map[string]*deliveryView

func (vs views) get(id string) *deliveryView {
	v := vs[id]
	if v == nil {
		v = &deliveryView{DeliveryID: id}
		vs[id] = v
	}
	return v
}

func (vs views) addRaw(m jetstream.Msg) error {
	c, err := rawCopyOf(m)
	if err != nil {
		return err
	}
	h := m.Headers()
	v := vs.get(h.Get(delivery.HeaderDelivery))
	if v.Event == "" {
		v.Event = h.Get(delivery.HeaderEvent)
	}
	if c.Replay == "" && !c.ReceivedAt.IsZero() {
		v.ReceivedAt = c.ReceivedAt
	}
	v.Raw = append(v.Raw, c)
	return nil
}

func (vs views) addRecord(r trace.Record) {
	v := vs.get(r.DeliveryID)
	if v.Event == "" {
		v.Event = r.Event
	}
	if r.Stage == trace.StageNormalizer && r.Replay == "" && !r.ReceivedAt.IsZero() {
		v.ReceivedAt = r.ReceivedAt.UTC()
	}
	for _, s := range r.Subjects {
		if p, err := subject.ParseEvent(s); err == nil && v.Repository == "" && p.Repo != "" {
			v.Repository = p.Owner + "/" + p.Repo
		} else if err == nil && v.Repository == "" && p.Owner != "" {
			v.Repository = p.Owner
		}
	}
	for _, k := range r.Kinds {
		if !slices.Contains(v.Kinds, k) {
			v.Kinds = append(v.Kinds, k)
		}
	}
	f := fate{Stage: r.Stage, Outcome: r.Outcome, Route: r.Route, Destination: r.Destination, Reason: r.Reason, SlackTS: r.SlackTS, Replay: r.Replay, At: r.At.UTC()}
	if r.Stage == trace.StageSink && len(r.Kinds) == 1 {
		f.Kind = r.Kinds[0]
	}
	v.Fates = append(v.Fates, f)
}

func (vs views) addLetter(l deadLetterInfo) {
	id := l.DeliveryID
	if id == "" {
		id = fmt.Sprintf("%s:%d", l.Stream, l.StreamSeq)
	}
	v := vs.get(id)
	if v.Event == "" {
		v.Event = l.Event
	}
	v.DeadLetters = append(v.DeadLetters, l)
}

// finish sorts what was collected and works out the statuses.
func (v *deliveryView) finish() {
	sort.SliceStable(v.Raw, func(i, j int) bool { return v.Raw[i].Sequence < v.Raw[j].Sequence })
	sort.SliceStable(v.Events, func(i, j int) bool { return v.Events[i].Sequence < v.Events[j].Sequence })
	sort.SliceStable(v.Fates, func(i, j int) bool { return v.Fates[i].At.Before(v.Fates[j].At) })
	has := map[string]bool{}
	if len(v.Raw) > 0 {
		has[statusStored] = true
	}
	for _, f := range v.Fates {
		switch f.Outcome {
		case trace.OutcomeStored, trace.OutcomeDuplicate:
			has[statusStored] = true
		case trace.OutcomeNormalized:
			has[statusNormalized] = true
		case trace.OutcomePosted:
			has[statusPosted] = true
		case trace.OutcomeSkipped:
			has[statusSkipped] = true
		case trace.OutcomeFailed:
			has[statusFailed] = true
		case trace.OutcomeDeadLettered:
			has[statusDeadLettered] = true
		}
	}
	if len(v.DeadLetters) > 0 {
		has[statusDeadLettered] = true
	}
	if len(v.AtSink) > 0 {
		has[statusRetrying] = true
	}
	v.Statuses = v.Statuses[:0]
	for _, s := range allStatuses {
		if has[s] {
			v.Statuses = append(v.Statuses, s)
		}
	}
}

// readTrace reads the trace records of one delivery, or (deliveryID
// empty) every record stored since since (all of them when since is zero).
func readTrace(ctx context.Context, js jetstream.JetStream, deliveryID string, since time.Time) ([]trace.Record, error) {
	store := trace.NewStore(js)
	if deliveryID != "" {
		return store.List(ctx, deliveryID)
	}
	var out []trace.Record
	err := store.Scan(ctx, since, func(f trace.Fact) error {
		out = append(out, f.Record)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading stream %s: %w", provision.StreamTrace, err)
	}
	return out, nil
}

// deliveryMatch is a filter on raw message headers.
func deliveryIs(id string) func(nats.Header) bool {
	return func(h nats.Header) bool { return h.Get(delivery.HeaderDelivery) == id }
}

// gatherDelivery collects everything about one delivery: its trace records,
// its raw messages, its events and its dead letters.
func gatherDelivery(ctx context.Context, js jetstream.JetStream, id string) (*deliveryView, error) {
	vs := views{}
	v := vs.get(id)
	recs, err := readTrace(ctx, js, id, time.Time{})
	if err != nil {
		return nil, err
	}
	var subjects []string
	var since time.Time
	for _, r := range recs {
		vs.addRecord(r)
		for _, s := range r.Subjects {
			if !slices.Contains(subjects, s) {
				subjects = append(subjects, s)
			}
		}
		if !r.ReceivedAt.IsZero() && (since.IsZero() || r.ReceivedAt.Before(since)) {
			since = r.ReceivedAt
		}
	}
	if !since.IsZero() {
		since = since.Add(-time.Minute)
	}
	rawFilter := []string{subject.RawAll}
	if v.Event != "" {
		rawFilter = []string{subject.Raw(v.Event)}
	}
	match := deliveryIs(id)
	err = scanStream(ctx, js, provision.StreamRaw, scanOptions{Filters: rawFilter, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
		if !match(m.Headers()) {
			return nil
		}
		return vs.addRaw(m)
	})
	if err != nil {
		return nil, err
	}
	if len(subjects) > 0 {
		err = scanStream(ctx, js, provision.StreamEvents, scanOptions{Filters: subjects, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
			if !match(m.Headers()) {
				return nil
			}
			c, err := eventCopyOf(m)
			if err != nil {
				return err
			}
			v.Events = append(v.Events, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	letters, err := listDeadLetters(ctx, js, since, "")
	if err != nil {
		return nil, err
	}
	for _, l := range letters {
		if l.DeliveryID == id {
			vs.addLetter(l)
		}
	}
	floor, err := sinkAckFloor(ctx, js)
	if err != nil {
		return nil, err
	}
	v.markAtSink(floor)
	v.finish()
	return v, nil
}

// deliveryFilter selects deliveries for `ghnotify deliveries`.
type deliveryFilter struct {
	Since  time.Time
	Repo   string
	Event  string
	Status string
}

// gatherDeliveries collects the deliveries stored since f.Since, newest
// first, with their fates, filtered by f.
func gatherDeliveries(ctx context.Context, js jetstream.JetStream, f deliveryFilter) ([]*deliveryView, error) {
	vs := views{}
	rawFilter := []string{subject.RawAll}
	if f.Event != "" {
		rawFilter = []string{subject.Raw(f.Event)}
	}
	err := scanStream(ctx, js, provision.StreamRaw, scanOptions{Filters: rawFilter, Since: f.Since, HeadersOnly: true}, vs.addRaw)
	if err != nil {
		return nil, err
	}
	err = scanStream(ctx, js, provision.StreamEvents, scanOptions{Filters: []string{subject.EventAll}, Since: f.Since, HeadersOnly: true}, func(m jetstream.Msg) error {
		id := m.Headers().Get(delivery.HeaderDelivery)
		if _, ok := vs[id]; !ok {
			return nil
		}
		c, err := eventCopyOf(m)
		if err != nil {
			return err
		}
		vs[id].Events = append(vs[id].Events, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sinkFloor, err := sinkAckFloor(ctx, js)
	if err != nil {
		return nil, err
	}
	// Facts of deliveries stored since f.Since come after it; a minute
	// more allows for clocks.
	recs, err := readTrace(ctx, js, "", f.Since.Add(-time.Minute))
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		// Records of deliveries outside the window are left out; a
		// delivery in the window gets all of its records.
		if _, ok := vs[r.DeliveryID]; ok || !r.At.Before(f.Since) && (f.Event == "" || r.Event == f.Event) {
			vs.addRecord(r)
		}
	}
	letters, err := listDeadLetters(ctx, js, f.Since, "")
	if err != nil {
		return nil, err
	}
	for _, l := range letters {
		if f.Event == "" || l.Event == f.Event {
			vs.addLetter(l)
		}
	}
	var out []*deliveryView
	for _, v := range vs {
		v.markAtSink(sinkFloor)
		v.finish()
		if f.Repo != "" && !strings.EqualFold(v.Repository, f.Repo) {
			continue
		}
		if f.Status != "" && !slices.Contains(v.Statuses, f.Status) {
			continue
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].when(), out[j].when()
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return out[i].DeliveryID < out[j].DeliveryID
	})
	return out, nil
}

// sinkAckFloor is the slack-sink consumer's acknowledgement floor: every
// event up to it is acknowledged. 0 when the consumer does not exist yet.
func sinkAckFloor(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, provision.StreamEvents, provision.ConsumerSlackSink)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading consumer %s: %w", provision.ConsumerSlackSink, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading consumer %s: %w", provision.ConsumerSlackSink, err)
	}
	return info.AckFloor.Stream, nil
}

// markAtSink notes the events above the sink's acknowledgement floor that
// have no sink trace record yet: the sink is waiting to post them or
// retrying them (a destination down, or rate-limited).
func (v *deliveryView) markAtSink(floor uint64) {
	traced := map[string]bool{}
	for _, f := range v.Fates {
		if f.Stage == trace.StageSink {
			traced[f.Kind+"|"+f.Replay] = true
		}
	}
	v.AtSink = v.AtSink[:0]
	for _, e := range v.Events {
		if e.Sequence > floor && !traced[e.Kind+"|"+e.Replay] && !slices.Contains(v.AtSink, e.EventID) {
			v.AtSink = append(v.AtSink, e.EventID)
		}
	}
}
