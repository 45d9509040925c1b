package provision_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureIsIdempotentAndUpdates(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t) // provisions once with defaults
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c := provision.Defaults()
	c.RawMaxAge = 14 * 24 * time.Hour
	for range 2 {
		if err := provision.Ensure(ctx, s.JS, c); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := s.JS.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.CachedInfo().Config.MaxAge; got != 14*24*time.Hour {
		t.Fatalf("raw stream max age = %v after update, want 336h", got)
	}
	kv, err := s.JS.KeyValue(ctx, provision.BucketSent)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != c.EventMaxAge || st.LimitMarkerTTL() != provision.SentMarkerTTL {
		t.Fatalf("sent bucket TTL = %v, marker TTL %v; want %v, %v", st.TTL(), st.LimitMarkerTTL(), c.EventMaxAge, provision.SentMarkerTTL)
	}
	if _, err := s.JS.KeyValue(ctx, provision.BucketTrace); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("trace bucket: %v, want it no longer created", err)
	}
	tr, err := s.JS.Stream(ctx, provision.StreamTrace)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.CachedInfo().Config.MaxAge; got != c.EventMaxAge {
		t.Errorf("trace stream max age = %v, want %v", got, c.EventMaxAge)
	}
	for _, name := range []string{provision.StreamRaw, provision.StreamEvents, provision.StreamDLQ, provision.StreamHeld, "OBJ_" + provision.ObjectDedupe} {
		if _, err := s.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}

// TestSentBucketUpgradesToRecordTTL provisions over a sent bucket created
// as earlier versions did (no record TTL): the update is accepted, the
// records already there stay, and a record written with a TTL of its own
// then disappears when it ends.
func TestSentBucketUpgradesToRecordTTL(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := s.JS.DeleteKeyValue(ctx, provision.BucketSent); err != nil {
		t.Fatal(err)
	}
	old := jetstream.KeyValueConfig{Bucket: provision.BucketSent, TTL: 7 * 24 * time.Hour, History: 1, Storage: jetstream.FileStorage}
	kv, err := s.JS.CreateKeyValue(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "old", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := provision.Ensure(ctx, s.JS, provision.Defaults()); err != nil {
		t.Fatalf("provisioning over an old sent bucket: %v", err)
	}
	if _, err := kv.Get(ctx, "old"); err != nil {
		t.Fatalf("record written before the upgrade: %v", err)
	}
	b := provision.TTLBucket{JS: s.JS, Bucket: provision.BucketSent}
	if _, err := b.PutTTL(ctx, "short", []byte("y"), time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "short"); err != nil {
		t.Fatalf("record with a TTL, just written: %v", err)
	}
	natstest.WaitFor(t, 10*time.Second, "the record's TTL to end", func() bool {
		_, err := kv.Get(ctx, "short")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	if _, err := kv.Get(ctx, "old"); err != nil {
		t.Fatalf("record without a TTL after another's ended: %v", err)
	}
}

// TestConsumerMaxDeliverUpdatesInPlace upgrades a durable created with a
// server-side MaxDeliver (as earlier versions did) to ConsumerMaxDeliver:
// the update is accepted, the durable keeps its acknowledged position (no
// replay), and a message that had used up the old limit is delivered again.
func TestConsumerMaxDeliverUpdatesInPlace(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	old := jetstream.ConsumerConfig{
		Durable: "upgrade", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: "github.raw.>", AckWait: 5 * time.Second, MaxDeliver: 1,
	}
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, old)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"github.raw.acked", "github.raw.stuck", "github.raw.new"} {
		if _, err := s.JS.Publish(ctx, subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for m := range batch.Messages() {
		got = append(got, m)
	}
	if len(got) != 2 {
		t.Fatalf("fetched %d messages, want 2", len(got))
	}
	if err := got[0].DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	_ = got[1].Nak() // its one allowed delivery is spent

	upd := old
	upd.MaxDeliver = provision.ConsumerMaxDeliver
	cons, err = s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, upd)
	if err != nil {
		t.Fatalf("updating MaxDeliver in place: %v", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxDeliver != provision.ConsumerMaxDeliver || info.Name != "upgrade" || info.AckFloor.Stream != 1 {
		t.Fatalf("after update: max deliver %d, name %q, ack floor %d", info.Config.MaxDeliver, info.Name, info.AckFloor.Stream)
	}
	seen := map[string]int{}
	natstest.WaitFor(t, 10*time.Second, "the stuck and the new message", func() bool {
		b, err := cons.Fetch(2, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return false
		}
		for m := range b.Messages() {
			seen[m.Subject()]++
			_ = m.DoubleAck(ctx)
		}
		return seen["github.raw.new"] > 0 && seen["github.raw.stuck"] > 0
	})
	if seen["github.raw.acked"] != 0 {
		t.Errorf("an acknowledged message was delivered again: %v", seen)
	}
}

// TestLeaderCheck: a stream of a single server has its server as leader; a
// missing stream is an error, reused until the answer is stale.
func TestLeaderCheck(t *testing.T) {
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := provision.CheckLeader(ctx, s.JS, provision.StreamRaw); err != nil {
		t.Fatalf("CheckLeader(%s) = %v, want nil", provision.StreamRaw, err)
	}
	c := &provision.LeaderCheck{JS: s.JS, Stream: "NO_SUCH_STREAM", Every: time.Hour}
	first := c.Check(ctx)
	if !errors.Is(first, jetstream.ErrStreamNotFound) {
		t.Fatalf("Check of a missing stream = %v, want ErrStreamNotFound", first)
	}
	if err := c.Check(ctx); err != first {
		t.Fatalf("second Check = %v, want the cached %v", err, first)
	}
}
