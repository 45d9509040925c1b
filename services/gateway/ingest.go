package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/trace"
)

// rawStore stores a delivery in the raw stream.
type rawStore interface {
	// Publish returns the stream sequence and whether the stream's
	// Nats-Msg-Id window already held the delivery id. It must not keep
	// d.Body once it has returned: the buffer is the request's, reused for
	// another request once this one is answered.
	Publish(ctx context.Context, d *delivery.Delivery) (seq uint64, duplicate bool, err error)
}

// dedupeStore remembers stored deliveries for the dedupe horizon. The keys
// lookup returns are handed back to rememberKeys, so that each key is
// hashed once per request.
type dedupeStore interface {
	lookup(ctx context.Context, deliveryID, bodyKey string) (reason string, k indexKeys, err error)
	// rememberKeys adds the keys of a delivery this gateway has stored at
	// seq (0 when the stream already held its id).
	rememberKeys(k indexKeys, seq uint64)
}

// traceRecorder writes a trace record without holding up the request.
type traceRecorder interface {
	Record(key string, rec trace.Record)
}

// ErrUnavailable is returned by Ingest when JetStream could not be reached
// or did not answer in time; nothing was stored and the sender should retry.
var ErrUnavailable = errors.New("jetstream unavailable")

// Outcome is what became of a delivery.
type Outcome string

// Outcomes of Ingest.
const (
	Stored    Outcome = "stored"
	Duplicate Outcome = "duplicate"
)

// Result is the outcome of one Ingest.
type Result struct {
	Outcome Outcome
	// Reason says why a duplicate is one.
	Reason string
	// Seq is the raw stream sequence of a stored delivery.
	Seq uint64
	// BodyKey is the body's dedupe key, in hex (delivery.Delivery.BodyKey).
	BodyKey string
}

// Ingester stores verified deliveries exactly once: a delivery id or body
// already remembered is a duplicate and is not published (and gets a trace
// record); otherwise the payload is published, and after the PubAck it is
// remembered. With body dedupe on, the lookup, the publish and the index
// update run under a claim on the body's digest, so that two requests with
// one body under two ids never both pass the lookup. The raw message is the gateway's record of a stored delivery:
// no trace record is written for it (the normalizer's trace record carries
// its raw stream sequence and reception time).
type Ingester struct {
	store   rawStore
	dedupe  dedupeStore
	traces  traceRecorder
	metrics *metrics
	timeout time.Duration
	// claims, when body dedupe is on, serialises requests carrying the
	// same body (and only those) from the index check to the index update.
	claims *bodyClaims
	// health, when set, learns the outcome of every publish for /readyz.
	health *storeHealth
}

// Ingest stores one delivery whose signature and headers have been checked.
// The payload is the JSON document (already taken out of a form body);
// bodyKey identifies the body (see delivery.Delivery.BodyKey: the handler
// derives it from the verified HMAC). The returned error wraps
// ErrUnavailable when the delivery could not be stored.
func (in *Ingester) Ingest(ctx context.Context, id Identity, payload []byte, bodyKey [32]byte, receivedAt time.Time) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	res := Result{BodyKey: hex.EncodeToString(bodyKey[:])}

	if in.claims != nil {
		release, err := in.claims.claim(ctx, bodyKey)
		if err != nil {
			return res, errors.Join(ErrUnavailable, err)
		}
		defer release()
	}
	reason, keys, err := in.dedupe.lookup(ctx, id.DeliveryID, res.BodyKey)
	if err != nil {
		return res, errors.Join(ErrUnavailable, err)
	}
	if reason != "" {
		res.Outcome, res.Reason = Duplicate, reason
		in.record(id, res, receivedAt)
		return res, nil
	}

	d := &delivery.Delivery{
		Event:      id.Event,
		ID:         id.DeliveryID,
		HookID:     id.HookID,
		TargetType: id.TargetType,
		TargetID:   id.TargetID,
		BodyKey:    res.BodyKey,
		ReceivedAt: receivedAt,
		Body:       payload,
	}
	start := time.Now()
	seq, dup, err := in.store.Publish(ctx, d)
	in.metrics.publishSeconds.Observe(time.Since(start).Seconds())
	in.health.observe(err)
	if err != nil {
		return res, errors.Join(ErrUnavailable, err)
	}
	res.Seq = seq
	// Remembered at once, so that this gateway sees its own deliveries
	// before its index reads them back from the stream.
	// A duplicate's sequence is the earlier message's, whose keys may
	// differ (another body under the same id): not this request's own.
	own := seq
	if dup {
		own = 0
	}
	in.dedupe.rememberKeys(keys, own)
	if dup {
		res.Outcome, res.Reason = Duplicate, ReasonDeliveryID
		in.record(id, res, receivedAt)
		return res, nil
	}
	res.Outcome = Stored
	return res, nil
}

// record writes the trace record of a duplicate, under a key of its own
// (<delivery>.gateway.duplicate) so that it never looks like the delivery
// that was stored.
func (in *Ingester) record(id Identity, res Result, at time.Time) {
	in.traces.Record(trace.Key(id.DeliveryID, trace.StageGateway, trace.OutcomeDuplicate), trace.Record{
		Stage:      trace.StageGateway,
		DeliveryID: id.DeliveryID,
		Event:      id.Event,
		Outcome:    trace.OutcomeDuplicate,
		Reason:     res.Reason,
		At:         at,
	})
}

// claimsFor returns the in-flight body claims when body dedupe is on.
func claimsFor(bodies bool) *bodyClaims {
	if !bodies {
		return nil
	}
	return newBodyClaims()
}
