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
	kv, err := s.JS.KeyValue(ctx, provision.BucketTrace)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != c.EventMaxAge {
		t.Fatalf("trace TTL = %v, want %v", st.TTL(), c.EventMaxAge)
	}
	for _, name := range []string{provision.StreamRaw, provision.StreamEvents, provision.StreamDLQ} {
		if _, err := s.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}
