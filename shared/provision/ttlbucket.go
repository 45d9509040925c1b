package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TTLBucket writes key-value records that end by themselves: each carries
// a TTL of its own (the Nats-TTL header), which the bucket takes once it
// has a LimitMarkerTTL (see SentMarkerTTL). jetstream.KeyValue's Put has
// no TTL and its Create refuses an existing key, so this publishes to the
// key's subject as Put does.
type TTLBucket struct {
	// KeyValue is the bucket, for everything but PutTTL.
	jetstream.KeyValue
	JS     jetstream.JetStream
	Bucket string
}

// PutTTL writes value under key for ttl (at least one second; zero or
// less means the bucket's own TTL) and returns the record's revision.
func (b TTLBucket) PutTTL(ctx context.Context, key string, value []byte, ttl time.Duration) (uint64, error) {
	m := &nats.Msg{Subject: "$KV." + b.Bucket + "." + key, Data: value}
	var opts []jetstream.PublishOpt
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(max(ttl, time.Second)))
	}
	ack, err := b.JS.PublishMsg(ctx, m, opts...)
	if err != nil {
		return 0, fmt.Errorf("writing %s in bucket %s: %w", key, b.Bucket, err)
	}
	return ack.Sequence, nil
}
