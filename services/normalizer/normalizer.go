package normalizer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Run provisions the streams and buckets, creates or updates the durable
// "normalizer" consumer on GHNOTIFY_RAW and normalizes deliveries until ctx
// ends; then it stops pulling, finishes the message in hand and returns once
// the consumer has drained. The caller drains nc.
func Run(ctx context.Context, cfg Config, nc *nats.Conn, log zerolog.Logger) error {
	return run(ctx, cfg, nc, log, nil)
}

// run is Run with an observer that tests use to see every normalized delivery.
func run(ctx context.Context, cfg Config, nc *nats.Conn, log zerolog.Logger, observe func(delivery.Delivery, []event.Event)) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("validating normalizer configuration: %w", err)
	}
	log = log.With().Str("stage", trace.StageNormalizer).Logger()
	var consuming atomic.Bool
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	// Ready only while the events stream, which it writes, has a leader.
	events := &provision.LeaderCheck{JS: js, Stream: provision.StreamEvents}
	opsSrv, err := ops.Start(cfg.Ops, ops.Endpoints{Metrics: promhttp.Handler(), Ready: func(ctx context.Context) error {
		if err := consumerReady(nc, consuming.Load()); err != nil {
			return err
		}
		return events.Check(ctx)
	}}, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := opsSrv.Shutdown(sctx); err != nil {
			log.Warn().Err(err).Msg("stopping operations endpoints")
		}
	}()
	if err := provision.WaitEnsure(ctx, js, cfg.Provision, log); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop before we were ready
		}
		return err
	}
	var cons jetstream.Consumer
	err = provision.Retry(ctx, log, "creating normalizer consumer", func(ctx context.Context) error {
		c, err := js.CreateOrUpdateConsumer(ctx, provision.StreamRaw, ConsumerConfig(cfg))
		if err != nil {
			return err
		}
		cons = c
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	traces := trace.NewStore(js)
	h := &handler{
		js:             js,
		traces:         traces,
		publishTimeout: cfg.PublishTimeout,
		log:            log,
		observe:        observe,
	}
	settler := &consume.Settler{
		Stage:      trace.StageNormalizer,
		DLQ:        &tracingDeadLetterer{next: &deadletter.Publisher{JS: js}, traces: traces},
		MaxDeliver: cfg.MaxDeliver,
		Log:        log,
	}
	log.Info().Str("consumer", provision.ConsumerNormalizer).Dur("ack_wait", cfg.AckWait).
		Int("max_deliver", cfg.MaxDeliver).Msg("normalizer consuming raw deliveries")
	consuming.Store(true)
	defer consuming.Store(false)
	if err := consume.Run(ctx, cons, h.handle, settler, jetstream.PullMaxMessages(cfg.PullBatch)); err != nil {
		return fmt.Errorf("consuming raw deliveries: %w", err)
	}
	log.Info().Msg("normalizer stopped")
	return nil
}

// consumerReady is the answer of /readyz: ready once consuming, while NATS
// is connected.
func consumerReady(nc *nats.Conn, consuming bool) error {
	switch {
	case !consuming:
		return errors.New("not consuming yet: waiting for nats and the streams")
	case !nc.IsConnected():
		return errors.New("nats is not connected")
	}
	return nil
}

// ConsumerConfig is the durable pull consumer every normalizer replica shares.
func ConsumerConfig(cfg Config) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       provision.ConsumerNormalizer,
		Description:   "Normalizes raw GitHub deliveries into canonical events.",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    provision.ConsumerMaxDeliver, // the settler counts cfg.MaxDeliver
		FilterSubject: subject.RawAll,
		MaxAckPending: cfg.MaxAckPending,
	}
}
