package sink

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
)

// TestSentRecordCarriesItsTTL posts one event through the running sink
// and reads its sent record's message: it carries the Nats-TTL of
// deliver.SentTTL, so the record ends by itself once no redelivery of
// the event is possible, and the server keeps no state for it after that.
func TestSentRecordCarriesItsTTL(t *testing.T) {
	ns := natstest.Start(t)
	_, url := newFakeSlack(t, nil)
	publish(t, ns.JS, testEvent("b", 1), "b1")
	cfg := testConfig(writeRoutes(t, deliveryRoutes), url)
	cfg.MaxHold = 2 * time.Hour
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	key := SentKey(testEvent("b", 1).ID, "ok")
	var ttl string
	natstest.WaitFor(t, 10*time.Second, "the sent record", func() bool {
		s, err := ns.JS.Stream(context.Background(), "KV_"+provision.BucketSent)
		if err != nil {
			return false
		}
		m, err := s.GetLastMsgForSubject(context.Background(), "$KV."+provision.BucketSent+"."+key)
		if err != nil {
			return false
		}
		ttl = m.Header.Get("Nats-TTL")
		return true
	})
	want := deliver.SentTTL(deliver.Config{MaxHold: cfg.MaxHold, MaxDeliver: cfg.MaxDeliver, AckWait: cfg.AckWait})
	got, err := time.ParseDuration(ttl)
	if err != nil {
		secs, serr := strconv.Atoi(ttl)
		if serr != nil {
			t.Fatalf("sent record's Nats-TTL %q: %v", ttl, err)
		}
		got = time.Duration(secs) * time.Second
	}
	if got != want.Truncate(time.Second) && got != want {
		t.Fatalf("sent record's TTL = %v (%q), want %v", got, ttl, want)
	}
}
