// Package history gathers what JetStream knows about deliveries: the raw
// messages, the canonical events, every stage's trace records and the dead
// letters, into one view per delivery with its fate at each stage. The
// operations commands (ghnotify deliveries, trace) and the web console
// show these views.
package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/streamscan"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Statuses a delivery can have (ghnotify deliveries --status).
const (
	StatusStored       = "stored"
	StatusNormalized   = "normalized"
	StatusPosted       = "posted"
	StatusSkipped      = "skipped"
	StatusFailed       = "failed"
	StatusDeadLettered = "dead-lettered"
	// StatusRetrying: an event the sink has neither acknowledged nor
	// traced yet (waiting, or being retried).
	StatusRetrying = "retrying"
)

// Statuses are every status, in the order of a delivery's life.
var Statuses = []string{StatusStored, StatusNormalized, StatusPosted, StatusSkipped, StatusRetrying, StatusFailed, StatusDeadLettered}

// RawCopy is one raw message of a delivery: the stored original, or a
// replayed copy.
type RawCopy struct {
	Sequence   uint64    `json:"sequence"`
	Subject    string    `json:"subject"`
	StoredAt   time.Time `json:"stored_at"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	HookID     string    `json:"hook_id,omitempty"`
	Replay     string    `json:"replay,omitempty"`
}

// EventCopy is one event message of a delivery.
type EventCopy struct {
	Sequence uint64    `json:"sequence"`
	Subject  string    `json:"subject"`
	EventID  string    `json:"event_id"`
	Kind     string    `json:"kind,omitempty"`
	StoredAt time.Time `json:"stored_at"`
	Replay   string    `json:"replay,omitempty"`
	ReplayTo string    `json:"replay_to,omitempty"`
}

// Fate is what one stage did, for one destination at the sink.
type Fate struct {
	Stage       string `json:"stage"`
	Outcome     string `json:"outcome"`
	Kind        string `json:"kind,omitempty"`
	Route       string `json:"route,omitempty"`
	Destination string `json:"destination,omitempty"`
	Reason      string `json:"reason,omitempty"`
	SlackTS     string `json:"slack_ts,omitempty"`
	Replay      string `json:"replay,omitempty"`
	// EventID is the event a sink record is about.
	EventID string    `json:"event_id,omitempty"`
	At      time.Time `json:"at"`
}

// View is everything known about one delivery.
type View struct {
	DeliveryID  string            `json:"delivery_id"`
	Event       string            `json:"event,omitempty"`
	Kinds       []string          `json:"kinds,omitempty"`
	Repository  string            `json:"repository,omitempty"`
	ReceivedAt  time.Time         `json:"received_at,omitzero"`
	Statuses    []string          `json:"statuses"`
	Raw         []RawCopy         `json:"raw,omitempty"`
	Events      []EventCopy       `json:"events,omitempty"`
	Fates       []Fate            `json:"fates,omitempty"`
	DeadLetters []deadletter.Info `json:"dead_letters,omitempty"`
	// AtSink are the events the sink has not acknowledged and has no
	// trace record of: waiting for it, or being retried.
	AtSink []string `json:"at_sink,omitempty"`
}

// When is the delivery's time: when the gateway received it, else the
// earliest thing known.
func (v *View) When() time.Time {
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

func RawCopyOfMsg(m jetstream.Msg) (RawCopy, error) {
	md, err := m.Metadata()
	if err != nil {
		return RawCopy{}, err
	}
	h := m.Headers()
	c := RawCopy{Sequence: md.Sequence.Stream, Subject: m.Subject(), StoredAt: md.Timestamp.UTC(), HookID: h.Get(delivery.HeaderHookID), Replay: replay.ID(h)}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(delivery.HeaderReceivedAt)); err == nil {
		c.ReceivedAt = t.UTC()
	}
	return c, nil
}

func EventCopyOfMsg(m jetstream.Msg) (EventCopy, error) {
	md, err := m.Metadata()
	if err != nil {
		return EventCopy{}, err
	}
	h := m.Headers()
	id := h.Get(jetstream.MsgIDHeader)
	if r := replay.ID(h); r != "" {
		id = strings.TrimSuffix(id, "/replay/"+r)
	}
	return EventCopy{Sequence: md.Sequence.Stream, Subject: m.Subject(), EventID: id, Kind: h.Get(event.HeaderKind),
		StoredAt: md.Timestamp.UTC(), Replay: replay.ID(h), ReplayTo: replay.To(h)}, nil
}

// views collects delivery views by id.
type views map[string]*View

func (vs views) get(id string) *View {
	v := vs[id]
	if v == nil {
		v = &View{DeliveryID: id}
		vs[id] = v
	}
	return v
}

func (vs views) addRaw(m jetstream.Msg) error {
	c, err := RawCopyOfMsg(m)
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
	f := Fate{Stage: r.Stage, Outcome: r.Outcome, Route: r.Route, Destination: r.Destination, Reason: r.Reason, SlackTS: r.SlackTS, Replay: r.Replay, EventID: r.EventID, At: r.At.UTC()}
	if r.Stage == trace.StageSink && len(r.Kinds) == 1 {
		f.Kind = r.Kinds[0]
	}
	v.Fates = append(v.Fates, f)
}

func (vs views) addLetter(l deadletter.Info) {
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

// Finish sorts what was collected and works out the statuses.
func (v *View) Finish() {
	sort.SliceStable(v.Raw, func(i, j int) bool { return v.Raw[i].Sequence < v.Raw[j].Sequence })
	sort.SliceStable(v.Events, func(i, j int) bool { return v.Events[i].Sequence < v.Events[j].Sequence })
	sort.SliceStable(v.Fates, func(i, j int) bool { return v.Fates[i].At.Before(v.Fates[j].At) })
	has := map[string]bool{}
	if len(v.Raw) > 0 {
		has[StatusStored] = true
	}
	for _, f := range v.Fates {
		switch f.Outcome {
		case trace.OutcomeStored, trace.OutcomeDuplicate:
			has[StatusStored] = true
		case trace.OutcomeNormalized:
			has[StatusNormalized] = true
		case trace.OutcomePosted:
			has[StatusPosted] = true
		case trace.OutcomeSkipped:
			has[StatusSkipped] = true
		case trace.OutcomeFailed:
			has[StatusFailed] = true
		case trace.OutcomeDeadLettered:
			has[StatusDeadLettered] = true
		}
	}
	if len(v.DeadLetters) > 0 {
		has[StatusDeadLettered] = true
	}
	if len(v.AtSink) > 0 {
		has[StatusRetrying] = true
	}
	v.Statuses = v.Statuses[:0]
	for _, s := range Statuses {
		if has[s] {
			v.Statuses = append(v.Statuses, s)
		}
	}
}

// ReadTrace reads the trace records of one delivery, or (deliveryID
// empty) every record stored since since (all of them when since is
// zero), from the trace stream (shared/trace).
func ReadTrace(ctx context.Context, js jetstream.JetStream, deliveryID string, since time.Time) ([]trace.Record, error) {
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

// deliveryIs is a filter on raw message headers.
func deliveryIs(id string) func(nats.Header) bool {
	return func(h nats.Header) bool { return h.Get(delivery.HeaderDelivery) == id }
}

// Gather collects everything about one delivery: its trace records,
// its raw messages, its events and its dead letters.
func Gather(ctx context.Context, js jetstream.JetStream, id string) (*View, error) {
	vs := views{}
	v := vs.get(id)
	recs, err := ReadTrace(ctx, js, id, time.Time{})
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
	err = streamscan.Scan(ctx, js, provision.StreamRaw, streamscan.Options{Filters: rawFilter, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
		if !match(m.Headers()) {
			return nil
		}
		return vs.addRaw(m)
	})
	if err != nil {
		return nil, err
	}
	if len(subjects) > 0 {
		err = streamscan.Scan(ctx, js, provision.StreamEvents, streamscan.Options{Filters: subjects, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
			if !match(m.Headers()) {
				return nil
			}
			c, err := EventCopyOfMsg(m)
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
	letters, err := deadletter.List(ctx, js, since, "")
	if err != nil {
		return nil, err
	}
	for _, l := range letters {
		if l.DeliveryID == id {
			vs.addLetter(l)
		}
	}
	floor, err := SinkAckFloor(ctx, js)
	if err != nil {
		return nil, err
	}
	v.MarkAtSink(floor)
	v.Finish()
	return v, nil
}

// Filter selects deliveries for `ghnotify deliveries`.
type Filter struct {
	Since  time.Time
	Repo   string
	Event  string
	Status string
}

// List collects the deliveries stored since f.Since, newest
// first, with their fates, filtered by f.
func List(ctx context.Context, js jetstream.JetStream, f Filter) ([]*View, error) {
	vs := views{}
	rawFilter := []string{subject.RawAll}
	if f.Event != "" {
		rawFilter = []string{subject.Raw(f.Event)}
	}
	err := streamscan.Scan(ctx, js, provision.StreamRaw, streamscan.Options{Filters: rawFilter, Since: f.Since, HeadersOnly: true}, vs.addRaw)
	if err != nil {
		return nil, err
	}
	err = streamscan.Scan(ctx, js, provision.StreamEvents, streamscan.Options{Filters: []string{subject.EventAll}, Since: f.Since, HeadersOnly: true}, func(m jetstream.Msg) error {
		id := m.Headers().Get(delivery.HeaderDelivery)
		if _, ok := vs[id]; !ok {
			return nil
		}
		c, err := EventCopyOfMsg(m)
		if err != nil {
			return err
		}
		vs[id].Events = append(vs[id].Events, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sinkFloor, err := SinkAckFloor(ctx, js)
	if err != nil {
		return nil, err
	}
	// Facts of deliveries stored since f.Since come after it; a minute
	// more allows for clocks. Zero (no window) reads them all.
	since := f.Since
	if !since.IsZero() {
		since = since.Add(-time.Minute)
	}
	recs, err := ReadTrace(ctx, js, "", since)
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
	letters, err := deadletter.List(ctx, js, f.Since, "")
	if err != nil {
		return nil, err
	}
	for _, l := range letters {
		if f.Event == "" || l.Event == f.Event {
			vs.addLetter(l)
		}
	}
	var out []*View
	for _, v := range vs {
		v.MarkAtSink(sinkFloor)
		v.Finish()
		if f.Repo != "" && !strings.EqualFold(v.Repository, f.Repo) {
			continue
		}
		if f.Status != "" && !slices.Contains(v.Statuses, f.Status) {
			continue
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].When(), out[j].When()
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return out[i].DeliveryID < out[j].DeliveryID
	})
	return out, nil
}

// SinkAckFloor is the slack-sink consumer's acknowledgement floor: every
// event up to it is acknowledged. 0 when the consumer does not exist yet.
func SinkAckFloor(ctx context.Context, js jetstream.JetStream) (uint64, error) {
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

// MarkAtSink notes the events above the sink's acknowledgement floor that
// have no sink trace record yet: the sink is waiting to post them or
// retrying them (a destination down, or rate-limited).
func (v *View) MarkAtSink(floor uint64) {
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
