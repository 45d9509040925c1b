// Package provision creates or updates ghnotify's JetStream streams,
// consumers, key-value buckets and object store, so that every service can
// start in any order: each one provisions what it uses at start, and
// provisioning the same thing twice changes nothing.
package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/retry"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Stream, consumer, bucket and object store names.
const (
	StreamRaw    = "GHNOTIFY_RAW"
	StreamEvents = "GHNOTIFY_EVENTS"
	StreamDLQ    = "GHNOTIFY_DLQ"
	// StreamTrace holds what each stage did with each delivery (see
	// shared/trace): one message per fact on ghnotify.trace.<shard>.
	StreamTrace = trace.Stream
	// StreamHeld holds what the sink holds back for quiet hours and
	// digests, the message schedules that say when it is due, and what it
	// releases (subjects under HeldSubjects; see the sink's held.go).
	StreamHeld = "GHNOTIFY_HELD"
	// HeldSubjects are the subjects of StreamHeld.
	HeldSubjects = "ghnotify.held.>"

	ConsumerNormalizer = "normalizer"
	ConsumerSlackSink  = "slack-sink"
	// ConsumerSinkDue receives the sink's schedules as they fire: one
	// instance of the sink releases what each one holds.
	ConsumerSinkDue = "slack-sink-due"
	// ConsumerSinkReleased delivers released events and digests to the sink.
	ConsumerSinkReleased = "slack-sink-released"

	// ConsumerMaxDeliver is the server-side MaxDeliver of every consumer:
	// none. The consume loop counts deliveries itself (consume.Settler's
	// MaxDeliver) and ends a message only with an ack or after its dead
	// letter is stored; a server limit would let a message whose dead
	// letter could not be written vanish. CreateOrUpdateConsumer applies it
	// to an existing durable in place, keeping its acknowledged position.
	ConsumerMaxDeliver = -1

	// BucketTrace is where earlier versions kept trace records, one key
	// per record. It is no longer created or written: StreamTrace holds
	// them. Delete it once GHNOTIFY_EVENT_MAX_AGE has passed since an
	// upgrade.
	BucketTrace = "ghnotify_trace"
	// BucketSent holds (event, destination) pairs the sink has posted.
	BucketSent = "ghnotify_sent"
	// BucketThreads maps an issue or pull request to its Slack thread.
	BucketThreads = "ghnotify_threads"
	// ObjectBodies holds raw bodies too large for one NATS message.
	ObjectBodies = "ghnotify_bodies"
	// ObjectDedupe holds the gateway's dedupe index snapshot.
	ObjectDedupe = "ghnotify_dedupe"

	// SentMarkerTTL is how long the sent bucket keeps the marker the
	// server leaves when a record's own TTL ends. Setting it lets the
	// bucket take records with a TTL of their own (KV key TTL, the
	// Nats-TTL header; nats-server 2.11 or later).
	SentMarkerTTL = time.Minute
)

// Config sizes what Ensure creates.
type Config struct {
	// Replicas is the replica count of every stream and bucket (1, or 3 on a cluster).
	Replicas int
	// RawMaxAge is how long raw deliveries are kept.
	RawMaxAge time.Duration
	// EventMaxAge is how long canonical events are kept.
	EventMaxAge time.Duration
	// DLQMaxAge is how long dead letters are kept.
	DLQMaxAge time.Duration
	// HeldMaxAge is how long held events and their schedules are kept: longer
	// than any quiet period or digest (a week of quiet days and a day).
	HeldMaxAge time.Duration
	// DuplicateWindow is the Nats-Msg-Id dedupe window of the raw and events streams.
	DuplicateWindow time.Duration
	// DedupeHorizon is how long the gateway remembers delivery ids and
	// bodies. The gateway rebuilds its dedupe index from the raw stream, so
	// the horizon cannot exceed RawMaxAge.
	DedupeHorizon time.Duration
	// MaxMsgSize caps one message in the raw stream; 0 means the server's max_payload.
	MaxMsgSize int32
}

// Defaults returns the production defaults.
func Defaults() Config {
	return Config{
		Replicas:        1,
		RawMaxAge:       7 * 24 * time.Hour,
		EventMaxAge:     7 * 24 * time.Hour,
		DLQMaxAge:       30 * 24 * time.Hour,
		HeldMaxAge:      15 * 24 * time.Hour,
		DuplicateWindow: 10 * time.Minute,
		DedupeHorizon:   72 * time.Hour,
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Replicas <= 0 {
		c.Replicas = d.Replicas
	}
	if c.RawMaxAge <= 0 {
		c.RawMaxAge = d.RawMaxAge
	}
	if c.EventMaxAge <= 0 {
		c.EventMaxAge = d.EventMaxAge
	}
	if c.DLQMaxAge <= 0 {
		c.DLQMaxAge = d.DLQMaxAge
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = d.DuplicateWindow
	}
	if c.HeldMaxAge <= 0 {
		c.HeldMaxAge = d.HeldMaxAge
	}
	if c.DedupeHorizon <= 0 {
		c.DedupeHorizon = d.DedupeHorizon
	}
	return c
}

// Streams returns the configurations of the raw, events and dead-letter streams.
func Streams(c Config) []jetstream.StreamConfig {
	c = c.withDefaults()
	return []jetstream.StreamConfig{
		{
			Name:        StreamRaw,
			Description: "Raw GitHub webhook deliveries, as the gateway received them.",
			Subjects:    []string{subject.RawAll},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.RawMaxAge,
			Duplicates:  c.DuplicateWindow,
			Replicas:    c.Replicas,
			MaxMsgSize:  c.MaxMsgSize,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamEvents,
			Description: "Canonical ghnotify events (CloudEvents JSON).",
			Subjects:    []string{subject.EventAll},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.EventMaxAge,
			Duplicates:  c.DuplicateWindow,
			Replicas:    c.Replicas,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamDLQ,
			Description: "Dead letters: messages a stage could not process, with the reason.",
			Subjects:    []string{subject.DLQAll},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.DLQMaxAge,
			Duplicates:  c.DuplicateWindow,
			Replicas:    c.Replicas,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamTrace,
			Description: "What each stage did with each delivery: one message per fact, on one of 256 subjects.",
			Subjects:    []string{trace.SubjectAll},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.EventMaxAge,
			Replicas:    c.Replicas,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamHeld,
			Description: "Events the sink holds for quiet hours and digests, the schedules that release them, and what they released.",
			Subjects:    []string{HeldSubjects},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      c.HeldMaxAge,
			Duplicates:  c.DuplicateWindow,
			Replicas:    c.Replicas,
			// No size limits: only MaxAge ends a held message (message
			// schedules do not allow DiscardNew).
			Discard:           jetstream.DiscardOld,
			AllowMsgSchedules: true,
		},
	}
}

// Buckets returns the configurations of the key-value buckets.
func Buckets(c Config) []jetstream.KeyValueConfig {
	c = c.withDefaults()
	return []jetstream.KeyValueConfig{
		// A sent record carries its own TTL (the sink's redelivery bound,
		// see slack-sink's deliver.SentTTL); the bucket's TTL only caps it.
		{Bucket: BucketSent, Description: "Events the Slack sink has posted, per destination.", TTL: c.EventMaxAge, History: 1, Storage: jetstream.FileStorage, Replicas: c.Replicas, LimitMarkerTTL: SentMarkerTTL},
		{Bucket: BucketThreads, Description: "Slack thread of each issue and pull request.", TTL: 30 * 24 * time.Hour, History: 1, Storage: jetstream.FileStorage, Replicas: c.Replicas},
	}
}

// ObjectStore returns the configuration of the large-body object store.
func ObjectStore(c Config) jetstream.ObjectStoreConfig {
	c = c.withDefaults()
	return jetstream.ObjectStoreConfig{
		Bucket:      ObjectBodies,
		Description: "Raw bodies larger than one NATS message; the raw message names them.",
		TTL:         c.RawMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	}
}

// DedupeStore returns the configuration of the object store holding the
// gateway's dedupe index snapshot (one object, replaced as it is rewritten).
func DedupeStore(c Config) jetstream.ObjectStoreConfig {
	c = c.withDefaults()
	return jetstream.ObjectStoreConfig{
		Bucket:      ObjectDedupe,
		Description: "Snapshot of the gateway's dedupe index: the raw stream's delivery ids and body digests up to a sequence.",
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	}
}

// Ensure creates or updates every stream, bucket and the object store.
func Ensure(ctx context.Context, js jetstream.JetStream, c Config) error {
	for _, sc := range Streams(c) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("provisioning stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range Buckets(c) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return fmt.Errorf("provisioning bucket %s: %w", kc.Bucket, err)
		}
	}
	for _, oc := range []jetstream.ObjectStoreConfig{ObjectStore(c), DedupeStore(c)} {
		if _, err := js.CreateOrUpdateObjectStore(ctx, oc); err != nil {
			return fmt.Errorf("provisioning object store %s: %w", oc.Bucket, err)
		}
	}
	return nil
}

// WaitEnsure calls Ensure until it succeeds or ctx ends, so a service started
// before NATS (or before a JetStream cluster has a leader) waits for it.
func WaitEnsure(ctx context.Context, js jetstream.JetStream, c Config, log zerolog.Logger) error {
	return Retry(ctx, log, "provisioning jetstream", func(ctx context.Context) error {
		return Ensure(ctx, js, c)
	})
}

// Retry calls fn until it succeeds or ctx ends, backing off from 250 ms to 5 s
// and logging each failure once. Each call gets at most 10 s.
func Retry(ctx context.Context, log zerolog.Logger, what string, fn func(ctx context.Context) error) error {
	err := retry.Until(ctx, retry.Backoff{Base: 250 * time.Millisecond, Max: 5 * time.Second},
		func(ctx context.Context) error {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return fn(actx)
		},
		func(attempt uint64, err error, wait time.Duration) {
			log.Warn().Err(err).Uint64("attempt", attempt).Dur("retry_in", wait).Msg(what + " failed; retrying")
		})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// FromEnv reads the provisioning settings every service shares. All services
// of one deployment must be given the same values.
func FromEnv(e *config.Env) Config {
	d := Defaults()
	return Config{
		Replicas:        e.Int("GHNOTIFY_REPLICAS", d.Replicas),
		RawMaxAge:       e.Duration("GHNOTIFY_RAW_MAX_AGE", d.RawMaxAge),
		EventMaxAge:     e.Duration("GHNOTIFY_EVENT_MAX_AGE", d.EventMaxAge),
		DLQMaxAge:       e.Duration("GHNOTIFY_DLQ_MAX_AGE", d.DLQMaxAge),
		HeldMaxAge:      e.Duration("GHNOTIFY_HELD_MAX_AGE", d.HeldMaxAge),
		DuplicateWindow: d.DuplicateWindow,
		DedupeHorizon:   e.Duration("GHNOTIFY_DEDUPE_HORIZON", d.DedupeHorizon),
	}
}
