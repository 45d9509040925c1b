package gateway

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/rs/zerolog"
)

func TestDeduper(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	kv, err := ns.JS.KeyValue(ctx, provision.BucketDedupe)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDeduper(ns.JS, kv, true, time.Hour, zerolog.Nop())

	// Before the index is complete every lookup reads the bucket.
	if _, err := kv.Create(ctx, DeliveryKey("early"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if d.Ready() {
		t.Fatal("index ready before watching")
	}
	if r, err := d.Seen(ctx, "early", "00"); err != nil || r != ReasonDeliveryID {
		t.Fatalf("Seen(early) before the index = %q, %v", r, err)
	}

	var failures atomic.Int64
	d.onWriteFailure = func() { failures.Add(1) }
	wctx, cancel := context.WithCancel(ctx)
	stopSettle := make(chan struct{})
	done := make(chan struct{}, 2)
	go func() { d.Watch(wctx); done <- struct{}{} }()
	go func() { d.Settle(stopSettle); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); close(stopSettle); <-done; <-done })
	natstest.WaitFor(t, 10*time.Second, "the index to be complete", d.Ready)
	if !d.idx.has(DeliveryKey("early")) {
		t.Fatal("replayed key missing from the index")
	}

	// Remember writes both keys; remembering twice is not an error.
	sum := sha256hex("body")
	for range 2 {
		if err := d.Remember(ctx, "ping", "id/with spaces", sum, 7); err != nil {
			t.Fatalf("Remember: %v", err)
		}
	}
	if r, _ := d.Seen(ctx, "id/with spaces", "ff"); r != ReasonDeliveryID {
		t.Fatalf("Seen(remembered id) = %q", r)
	}
	if r, _ := d.Seen(ctx, "other", sum); r != ReasonBody {
		t.Fatalf("Seen(remembered body) = %q", r)
	}
	if r, _ := d.Seen(ctx, "unknown", "ee"); r != "" {
		t.Fatalf("Seen(unknown) = %q", r)
	}
	for _, key := range []string{DeliveryKey("id/with spaces"), BodyKey(sum)} {
		if _, err := kv.Get(ctx, key); err != nil {
			t.Fatalf("key %s not in the bucket: %v", key, err)
		}
	}

	// A key written by another gateway reaches the index through the watcher.
	if _, err := kv.Create(ctx, BodyKey("abc"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the watcher to index a foreign key", func() bool { return d.idx.has(BodyKey("abc")) })
	if r, _ := d.Seen(ctx, "x", "abc"); r != ReasonBody {
		t.Fatalf("Seen(foreign body) = %q", r)
	}

	// A deleted key is forgotten, and can be remembered again.
	if err := kv.Delete(ctx, BodyKey("abc")); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "the watcher to drop a deleted key", func() bool { return !d.idx.has(BodyKey("abc")) })
	if r, _ := d.Seen(ctx, "x", "abc"); r != "" {
		t.Fatalf("Seen(deleted body) = %q", r)
	}
	if err := d.Remember(ctx, "ping", "x", "abc", 8); err != nil {
		t.Fatalf("Remember over a deleted key: %v", err)
	}
	if r, _ := d.Seen(ctx, "y", "abc"); r != ReasonBody {
		t.Fatalf("Seen(re-remembered body) = %q", r)
	}

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d key writes reported failed", n)
	}

	// Body dedupe off: bodies are neither checked nor written.
	ids := NewDeduper(ns.JS, kv, false, time.Hour, zerolog.Nop())
	if r, _ := ids.Seen(ctx, "z", sum); r != "" {
		t.Fatalf("Seen with body dedupe off = %q", r)
	}
}

func TestKeyIndexPrune(t *testing.T) {
	x := newKeyIndex(time.Hour)
	now := time.Unix(1_000_000, 0)
	x.add("old", now.Add(-time.Hour-pruneMargin-time.Second))
	x.add("recent", now.Add(-time.Hour))
	x.prune(now)
	if x.has("old") || !x.has("recent") || x.len() != 1 {
		t.Fatalf("after prune: old=%v recent=%v len=%d", x.has("old"), x.has("recent"), x.len())
	}
}
