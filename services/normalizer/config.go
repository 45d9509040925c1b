// Package normalizer is the ghnotify service that turns raw GitHub webhook
// deliveries from the GHNOTIFY_RAW stream into canonical CloudEvents events on
// the GHNOTIFY_EVENTS stream. Any number of replicas share one durable pull
// consumer; the raw message is acked only once every event it yields is
// stored, and an event's id is deterministic so a redelivery is deduplicated
// by the stream. The domain logic lives in the normalize package.
package normalizer

import (
	"errors"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
)

// Config configures the normalizer.
type Config struct {
	// Provision sizes the streams and buckets the normalizer ensures at start.
	Provision provision.Config
	// MaxDeliver is how many times a raw message is tried; the last failure
	// is dead-lettered. The consume loop counts the deliveries: the consumer
	// itself has no MaxDeliver (provision.ConsumerMaxDeliver).
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering.
	AckWait time.Duration
	// MaxAckPending caps unacked messages across every replica.
	MaxAckPending int
	// PullBatch is how many messages one replica buffers ahead.
	PullBatch int
	// PublishTimeout bounds the wait for one event's PubAck.
	PublishTimeout time.Duration
	// Ops is where /metrics, /healthz and /readyz are served
	// (GHNOTIFY_OPS_ADDR, GHNOTIFY_PPROF); the zero value serves none, as
	// in `ghnotify run`, which serves one /metrics for the whole process.
	Ops ops.Config
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		Provision:      provision.Defaults(),
		MaxDeliver:     10,
		AckWait:        30 * time.Second,
		MaxAckPending:  1000,
		PullBatch:      64,
		PublishTimeout: 10 * time.Second,
	}
}

// ConfigFromEnv reads the normalizer's configuration; errors are collected in e.
func ConfigFromEnv(e *config.Env) Config {
	d := Defaults()
	c := Config{
		Provision:      provision.FromEnv(e),
		MaxDeliver:     e.Int("GHNOTIFY_NORMALIZER_MAX_DELIVER", d.MaxDeliver),
		AckWait:        e.Duration("GHNOTIFY_NORMALIZER_ACK_WAIT", d.AckWait),
		MaxAckPending:  e.Int("GHNOTIFY_NORMALIZER_MAX_ACK_PENDING", d.MaxAckPending),
		PullBatch:      e.Int("GHNOTIFY_NORMALIZER_PULL_BATCH", d.PullBatch),
		PublishTimeout: e.Duration("GHNOTIFY_NORMALIZER_PUBLISH_TIMEOUT", d.PublishTimeout),
		Ops:            ops.FromEnv(e, ops.DefaultNormalizerAddr),
	}
	if err := c.Validate(); err != nil {
		e.Fail(err)
	}
	return c
}

// Validate reports settings the normalizer cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.MaxDeliver < 1 {
		errs = append(errs, errors.New("GHNOTIFY_NORMALIZER_MAX_DELIVER must be at least 1"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("GHNOTIFY_NORMALIZER_ACK_WAIT must be at least 1s"))
	}
	if c.MaxAckPending < 1 {
		errs = append(errs, errors.New("GHNOTIFY_NORMALIZER_MAX_ACK_PENDING must be at least 1"))
	}
	if c.PullBatch < 1 {
		errs = append(errs, errors.New("GHNOTIFY_NORMALIZER_PULL_BATCH must be at least 1"))
	}
	if c.PublishTimeout <= 0 {
		errs = append(errs, errors.New("GHNOTIFY_NORMALIZER_PUBLISH_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}
