// Package streamscan reads a stream's stored messages, oldest first, through
// an ordered consumer that takes nothing away from the services' consumers:
// what the operations commands and the web console show is read with it.
package streamscan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options select the messages Scan reads.
type Options struct {
	// Filters are subject filters; none means the whole stream.
	Filters []string
	// Since is the earliest time; zero means the start of the stream.
	Since time.Time
	// HeadersOnly leaves out the bodies.
	HeadersOnly bool
}

// Scan calls fn with each message of a stream that matches o, oldest
// first, up to the last one stored when the scan started.
func Scan(ctx context.Context, js jetstream.JetStream, stream string, o Options, fn func(jetstream.Msg) error) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", stream, err)
	}
	st := s.CachedInfo().State
	if st.Msgs == 0 || (!o.Since.IsZero() && st.LastTime.Before(o.Since)) {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: o.Filters, HeadersOnly: o.HeadersOnly, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !o.Since.IsZero() {
		since := o.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	for {
		batch, err := c.Fetch(256, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("reading stream %s: %w", stream, err)
			}
			if md.Sequence.Stream > st.LastSeq {
				return nil
			}
			if err := fn(m); err != nil {
				return err
			}
			if md.NumPending == 0 || md.Sequence.Stream == st.LastSeq {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
