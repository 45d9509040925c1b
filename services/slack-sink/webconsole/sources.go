package webconsole

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/history"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeliveryLister finds deliveries and everything known about one.
type DeliveryLister interface {
	List(ctx context.Context, f history.Filter) ([]*history.View, error)
	Get(ctx context.Context, id string) (*history.View, error)
}

// Payloads reads stored bodies: a raw delivery's payload (and headers),
// and a canonical event.
type Payloads interface {
	Raw(ctx context.Context, seq uint64) (nats.Header, []byte, error)
	Event(ctx context.Context, seq uint64) ([]byte, error)
}

// DeadLetters lists and redrives dead letters.
type DeadLetters interface {
	List(ctx context.Context) ([]deadletter.Info, error)
	Redrive(ctx context.Context, seq uint64) (deadletter.Redriven, error)
}

// Changes tells of deliveries something happened to: their ids, as the
// stages store, trace and dead-letter them, until ctx ends.
type Changes interface {
	Watch(ctx context.Context) (<-chan string, error)
}

// RoutesSource is the routing table in force; nil until it is loaded.
type RoutesSource interface {
	Table() *routes.Table
}

// Inbox is what the console destinations posted.
type Inbox interface {
	Recent() []slack.InboxMessage
	Subscribe() (<-chan slack.InboxMessage, func())
}

// Normalizer turns a GitHub payload into canonical events (the
// normalizer's own function, in `ghnotify run`).
type Normalizer func(d delivery.Delivery) ([]event.Event, error)

// Store is DeliveryLister, Payloads, DeadLetters and Changes over
// JetStream: the streams, the trace bucket and the dead-letter stream.
type Store struct {
	JS jetstream.JetStream
	// PublishTimeout bounds a redrive's publish; zero means 10 s.
	PublishTimeout time.Duration
}

// List gathers the deliveries f selects, newest first.
func (s *Store) List(ctx context.Context, f history.Filter) ([]*history.View, error) {
	return history.List(ctx, s.JS, f)
}

// Get gathers one delivery; nil when nothing is known of it.
func (s *Store) Get(ctx context.Context, id string) (*history.View, error) {
	v, err := history.Gather(ctx, s.JS, id)
	if err != nil {
		return nil, err
	}
	if len(v.Raw) == 0 && len(v.Fates) == 0 && len(v.DeadLetters) == 0 {
		return nil, nil
	}
	return v, nil
}

// Raw reads a raw delivery, its body fetched from the object store when
// it was too large to travel inline.
func (s *Store) Raw(ctx context.Context, seq uint64) (nats.Header, []byte, error) {
	m, err := s.get(ctx, provision.StreamRaw, seq)
	if err != nil {
		return nil, nil, err
	}
	body, err := rawbody.Load(ctx, s.JS, m.Header, m.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("loading raw delivery %d: %w", seq, err)
	}
	return m.Header, body, nil
}

// Event reads a canonical event's JSON.
func (s *Store) Event(ctx context.Context, seq uint64) ([]byte, error) {
	m, err := s.get(ctx, provision.StreamEvents, seq)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

func (s *Store) get(ctx context.Context, stream string, seq uint64) (*jetstream.RawStreamMsg, error) {
	st, err := s.JS.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", stream, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("reading %s message %d: %w", stream, seq, err)
	}
	return m, nil
}

// DeadLetters returns the store as DeadLetters.
func (s *Store) DeadLetters() DeadLetters { return storeLetters{s} }

type storeLetters struct{ s *Store }

func (l storeLetters) List(ctx context.Context) ([]deadletter.Info, error) {
	return deadletter.List(ctx, l.s.JS, time.Time{}, "")
}

func (l storeLetters) Redrive(ctx context.Context, seq uint64) (deadletter.Redriven, error) {
	t := l.s.PublishTimeout
	if t <= 0 {
		t = 10 * time.Second
	}
	return deadletter.Redrive(ctx, l.s.JS, seq, false, t)
}

// Watch follows the trace and the raw and dead-letter streams from now on,
// sending the delivery id of each new record or message.
func (s *Store) Watch(ctx context.Context) (<-chan string, error) {
	out := make(chan string, 64)
	send := func(id string) {
		if id == "" {
			return
		}
		select {
		case out <- id:
		default: // a reader that is behind refreshes everything anyway
		}
	}
	var stops []func()
	stopAll := func() {
		for _, stop := range stops {
			stop()
		}
	}
	// The trace stream holds one message per fact, the delivery id in a
	// header (shared/trace).
	follow := []struct{ stream, filter, header string }{
		{provision.StreamRaw, subject.RawAll, delivery.HeaderDelivery},
		{provision.StreamDLQ, subject.DLQAll, delivery.HeaderDelivery},
		{trace.Stream, trace.SubjectAll, trace.HeaderDelivery},
	}
	for _, st := range follow {
		stream, err := s.JS.Stream(ctx, st.stream)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("opening stream %s: %w", st.stream, err)
		}
		c, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{st.filter}, DeliverPolicy: jetstream.DeliverNewPolicy, HeadersOnly: true})
		if err == nil {
			var cc jetstream.ConsumeContext
			header := st.header
			cc, err = c.Consume(func(m jetstream.Msg) { send(m.Headers().Get(header)) })
			if err == nil {
				stops = append(stops, cc.Stop)
			}
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("following stream %s: %w", st.stream, err)
		}
	}
	go func() {
		<-ctx.Done()
		stopAll()
	}()
	return out, nil
}

// Tables holds the routing table in force: the sink sets it at start and
// after every reload (sink.Config.OnRoutes).
type Tables struct {
	t atomic.Pointer[routes.Table]
}

// Table returns the table in force, nil before the first.
func (t *Tables) Table() *routes.Table { return t.t.Load() }

// Set replaces the table in force.
func (t *Tables) Set(table *routes.Table) { t.t.Store(table) }
