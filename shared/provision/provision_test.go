package provision_test

import (
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
)

func TestEnsureIsIdempotentAndUpdates(t *testing.T) {
	s := natstest.Start(t) // provisions once with defaults
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := provision.Defaults()
	c.DedupeHorizon = 7 * 24 * time.Hour
	for range 2 {
		if err := provision.Ensure(ctx, s.JS, c); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := s.JS.KeyValue(ctx, provision.BucketDedupe)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 7*24*time.Hour {
		t.Fatalf("dedupe TTL = %v after update, want 168h", st.TTL())
	}
	for _, name := range []string{provision.StreamRaw, provision.StreamEvents, provision.StreamDLQ} {
		if _, err := s.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}
