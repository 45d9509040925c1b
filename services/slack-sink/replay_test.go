package sink

import (
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const replayRoutes = `
destinations:
  gone: {webhook: "${SLACK}/gone"}
  ok:   {webhook: "${SLACK}/ok"}
routes:
  - {name: a-gone, match: {repo: acme/a}, to: gone, continue: true}
  - {name: a-ok, match: {repo: acme/a}, to: ok}
`

// publishReplay publishes e with the given message id and replay headers.
func publishReplay(t *testing.T, js jetstream.JetStream, e *event.Event, msgID, replayID, to string) {
	t.Helper()
	b, err := event.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(subject.Event(e.Data.Repository.Owner, e.Data.Repository.Name, "issues", "opened"))
	m.Data = b
	if replayID != "" {
		m.Header.Set(replay.HeaderID, replayID)
	}
	if to != "" {
		m.Header.Set(replay.HeaderTo, to)
	}
	if _, err := js.PublishMsg(context.Background(), m, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetteredEventCanBePublishedAgain: a dead-lettered destination's
// sent record does not block a copy published again, a post does, and a
// replay posts once per replay id, to the destination it names.
func TestDeadLetteredEventCanBePublishedAgain(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, map[string][]int{"/gone": {404, 200}})
	stop := startSink(t, testConfig(writeRoutes(t, replayRoutes), url), ns.NC)
	defer stop()
	ev := testEvent("a", 1)
	// barrier waits until the sink has acknowledged everything so far.
	barrier := func() { t.Helper(); waitAllAcked(t, ns.JS) }

	publish(t, ns.JS, ev, "first")
	natstest.WaitFor(t, 10*time.Second, "the dead letter", func() bool { return dlqCount(t, ns.JS) == 1 })
	barrier()
	if got := fake.got("/ok"); len(got) != 1 {
		t.Fatalf("ok got %v, want one post", got)
	}

	// Published again by hand after the channel is fixed: the destination
	// that was dead-lettered is posted; the one already posted is not.
	publish(t, ns.JS, ev, "again")
	natstest.WaitFor(t, 10*time.Second, "the post to the fixed channel", func() bool { return len(fake.got("/gone")) == 1 })
	barrier()
	if got := fake.got("/ok"); len(got) != 1 {
		t.Fatalf("ok got %v after the copy, want still one post", got)
	}
	// Once posted, a further copy posts nothing.
	publish(t, ns.JS, ev, "third")
	barrier()

	// A replay posts once more, even when its message comes twice.
	publishReplay(t, ns.JS, ev, "r1-a", "r1", "")
	publishReplay(t, ns.JS, ev, "r1-b", "r1", "")
	barrier()
	// A second replay limited to ok posts there only.
	publishReplay(t, ns.JS, ev, "r2", "r2", "ok")
	barrier()
	natstest.WaitFor(t, 10*time.Second, "the replays' posts", func() bool {
		return len(fake.got("/ok")) == 3 && len(fake.got("/gone")) == 2
	})
	barrier()
	if g, o := len(fake.got("/gone")), len(fake.got("/ok")); g != 2 || o != 3 {
		t.Errorf("gone got %d posts, ok %d; want 2 and 3", g, o)
	}
	if n := dlqCount(t, ns.JS); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	recs, err := trace.NewStore(ns.JS).List(context.Background(), "a-1")
	if err != nil {
		t.Fatal(err)
	}
	replays := map[string]int{}
	for _, r := range recs {
		if r.Outcome == trace.OutcomePosted {
			replays[r.Replay]++
		}
	}
	if replays["r1"] != 2 || replays["r2"] != 1 {
		t.Errorf("posted trace records per replay = %v, want r1: 2, r2: 1", replays)
	}
}
