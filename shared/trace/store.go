package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The trace stream, its subjects and the headers of a fact.
const (
	// Stream holds every fact (provision.StreamTrace names it too).
	Stream = "GHNOTIFY_TRACE"
	// SubjectPrefix starts every fact's subject: ghnotify.trace.<shard>.
	SubjectPrefix = "ghnotify.trace."
	// SubjectAll matches every fact.
	SubjectAll = SubjectPrefix + ">"
	// HeaderKey is the fact's Key.
	HeaderKey = "Ghnotify-Trace-Key"
	// HeaderDelivery is the delivery id the fact is about.
	HeaderDelivery = "Ghnotify-Trace-Delivery"

	// RawStream is the raw deliveries' stream Recent reads
	// (provision.StreamRaw; a test checks they agree).
	RawStream = "GHNOTIFY_RAW"
)

// Shards is the number of subjects facts are spread over.
const Shards = 256

// Subject is the subject of the facts of a delivery: its shard.
func Subject(deliveryID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(deliveryID))
	return fmt.Sprintf("%s%02x", SubjectPrefix, h.Sum32()%Shards)
}

// Store reads and writes trace facts in the trace stream.
type Store struct {
	js jetstream.JetStream
}

// NewStore returns a store over the trace stream of js (created by
// shared/provision).
func NewStore(js jetstream.JetStream) *Store { return &Store{js: js} }

// Fact is one stored trace record and where it is.
type Fact struct {
	// Key is the record's key (see Key).
	Key string `json:"key"`
	// Sequence is the fact's sequence in the trace stream.
	Sequence uint64 `json:"sequence"`
	Record   Record `json:"record"`
}

// Delivery is one delivery and what was recorded about it.
type Delivery struct {
	DeliveryID string `json:"delivery_id"`
	// Event is GitHub's event name.
	Event string `json:"event,omitempty"`
	// ReceivedAt is when the gateway stored the delivery.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// RawSequence is the delivery's sequence in the raw stream.
	RawSequence uint64 `json:"raw_sequence,omitempty"`
	// Records are its facts, oldest first, the latest under each key;
	// none means stored and not yet normalized.
	Records []Record `json:"records"`
}

// Put writes rec under key, stamping At when it is zero. It returns once
// the server has stored it.
func (s *Store) Put(ctx context.Context, key string, rec Record) error {
	if rec.At.IsZero() {
		rec.At = time.Now().UTC()
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding trace record: %w", err)
	}
	id := deliveryOfKey(key, rec.DeliveryID)
	m := &nats.Msg{Subject: Subject(id), Data: b, Header: nats.Header{}}
	m.Header.Set(HeaderKey, key)
	m.Header.Set(HeaderDelivery, id)
	if _, err := s.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("writing trace record %s: %w", key, err)
	}
	return nil
}

// deliveryOfKey is the delivery a key belongs to, its first part (see
// Key); fallback when the key does not start with one.
func deliveryOfKey(key, fallback string) string {
	first, _, _ := strings.Cut(key, ".")
	if id, err := DecodeKeyPart(first); err == nil && id != "" {
		return id
	}
	return fallback
}

// List returns every record of a delivery, oldest first (the latest under
// each key). It reads the delivery's shard of the stream: the server scans
// the stream for that subject, and about one fact in 256 reaches the
// client.
func (s *Store) List(ctx context.Context, deliveryID string) ([]Record, error) {
	var facts []Fact
	err := s.read(ctx, readOptions{filter: Subject(deliveryID)}, func(f Fact, id string) error {
		if id == deliveryID {
			facts = append(facts, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing trace of %s: %w", deliveryID, err)
	}
	return latestPerKey(facts), nil
}

// Scan calls fn for every fact stored at or after since (every fact when
// since is zero), oldest first; an error from fn stops the scan and is
// returned.
func (s *Store) Scan(ctx context.Context, since time.Time, fn func(Fact) error) error {
	return s.read(ctx, readOptions{filter: SubjectAll, since: since}, func(f Fact, _ string) error { return fn(f) })
}

// Recent returns the last limit deliveries stored in the raw stream,
// newest first, each with its facts. It reads those raw messages' headers
// and the facts stored since the oldest of them: its cost grows with limit
// and recent traffic, not with the deliveries retained.
func (s *Store) Recent(ctx context.Context, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	raw, err := s.js.Stream(ctx, RawStream)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", RawStream, err)
	}
	st := raw.CachedInfo().State
	if st.Msgs == 0 {
		return nil, nil
	}
	first := st.FirstSeq
	if st.LastSeq >= uint64(limit) && st.LastSeq-uint64(limit)+1 > first {
		first = st.LastSeq - uint64(limit) + 1
	}
	var out []Delivery
	at := map[string]int{}
	err = readStream(ctx, raw, st.LastSeq, jetstream.OrderedConsumerConfig{
		HeadersOnly:   true,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: first,
	}, func(m jetstream.Msg, md *jetstream.MsgMetadata) error {
		id := m.Headers().Get(delivery.HeaderDelivery)
		if id == "" {
			return nil
		}
		at[id] = len(out)
		out = append(out, Delivery{DeliveryID: id, Event: m.Headers().Get(delivery.HeaderEvent), ReceivedAt: md.Timestamp, RawSequence: md.Sequence.Stream})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading stream %s: %w", RawStream, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	facts := map[string][]Fact{}
	since := out[0].ReceivedAt.Add(-time.Second)
	err = s.read(ctx, readOptions{filter: SubjectAll, since: since}, func(f Fact, id string) error {
		if _, ok := at[id]; ok {
			facts[id] = append(facts[id], f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading recent trace: %w", err)
	}
	for i := range out {
		out[i].Records = latestPerKey(facts[out[i].DeliveryID])
		if out[i].Records == nil {
			out[i].Records = []Record{}
		}
	}
	slices.Reverse(out)
	return out, nil
}

// Watch delivers every fact stored after the call, in order, until ctx
// ends, then closes the channel. A slow reader holds the feed back; no
// fact is dropped. The consumer behind it resumes by itself after a
// reconnection.
func (s *Store) Watch(ctx context.Context) (<-chan Fact, error) {
	str, err := s.js.Stream(ctx, Stream)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", Stream, err)
	}
	c, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{SubjectAll}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, fmt.Errorf("following stream %s: %w", Stream, err)
	}
	it, err := c.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, fmt.Errorf("following stream %s: %w", Stream, err)
	}
	ch := make(chan Fact, 256)
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	go func() {
		defer close(ch)
		for {
			m, err := it.Next()
			if err != nil {
				return // stopped
			}
			f, _, ok := decodeFact(m)
			if !ok {
				continue
			}
			select {
			case ch <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

type readOptions struct {
	filter string
	since  time.Time
}

// read calls fn for every decodable fact matching o, up to the stream's
// last message at the start.
func (s *Store) read(ctx context.Context, o readOptions, fn func(f Fact, id string) error) error {
	if s == nil || s.js == nil {
		return errors.New("no trace store")
	}
	str, err := s.js.Stream(ctx, Stream)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", Stream, err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(o.filter))
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", Stream, err)
	}
	st := info.State
	if st.Msgs == 0 || (!o.since.IsZero() && st.LastTime.Before(o.since)) {
		return nil
	}
	if o.filter != SubjectAll && len(st.Subjects) == 0 {
		return nil // nothing in this shard
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{o.filter}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !o.since.IsZero() {
		since := o.since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	return readStream(ctx, str, st.LastSeq, cfg, func(m jetstream.Msg, _ *jetstream.MsgMetadata) error {
		f, id, ok := decodeFact(m)
		if !ok {
			return nil
		}
		return fn(f, id)
	})
}

// readStream reads the messages cfg selects up to sequence last.
func readStream(ctx context.Context, str jetstream.Stream, last uint64, cfg jetstream.OrderedConsumerConfig, fn func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	c, err := str.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	for {
		batch, err := c.Fetch(1024, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			if md.Sequence.Stream > last {
				return nil
			}
			if err := fn(m, md); err != nil {
				return err
			}
			if md.NumPending == 0 || md.Sequence.Stream == last {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// decodeFact reads a fact message; a message that is not one is skipped.
func decodeFact(m jetstream.Msg) (Fact, string, bool) {
	md, err := m.Metadata()
	if err != nil {
		return Fact{}, "", false
	}
	var r Record
	if err := json.Unmarshal(m.Data(), &r); err != nil {
		return Fact{}, "", false
	}
	h := m.Headers()
	return Fact{Key: h.Get(HeaderKey), Sequence: md.Sequence.Stream, Record: r}, h.Get(HeaderDelivery), true
}

// latestPerKey keeps the last fact stored under each key and returns their
// records, oldest first.
func latestPerKey(facts []Fact) []Record {
	if len(facts) == 0 {
		return nil
	}
	last := map[string]int{}
	for i, f := range facts {
		last[f.Key] = i
	}
	out := make([]Record, 0, len(last))
	for i, f := range facts {
		if last[f.Key] == i {
			out = append(out, f.Record)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
