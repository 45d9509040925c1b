package normalizer

import (
	"context"
	"testing"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReplayedRawDeliveryYieldsReplayedEvents: a raw delivery published
// again with Ghnotify-Replay (inside the events stream's duplicate window)
// yields its event again, with the replay headers and a message id of its
// own, and its own trace record; the same replay published twice yields
// one event.
func TestReplayedRawDeliveryYieldsReplayedEvents(t *testing.T) {
	s := natstest.Start(t)
	startNormalizer(t, s, testConfig(), nil)
	d := rawDelivery("d-replayed", "issues", fixtureBody(t, "issues.opened"))
	publishRaw(t, s.JS, d.Msg())
	for _, copyID := range []string{"d-replayed/replay/r1", "d-replayed/replay/r1-again"} {
		m := d.Msg()
		m.Header.Set(jetstream.MsgIDHeader, copyID)
		m.Header.Set(replay.HeaderID, "r1")
		m.Header.Set(replay.HeaderTo, "slack")
		publishRaw(t, s.JS, m)
	}
	natstest.WaitFor(t, waitLimit, "the normalizer to settle three raw messages", func() bool {
		return streamMsgs(t, s.JS, provision.StreamRaw) == 3 && settled(t, s.JS)
	})
	if n := streamMsgs(t, s.JS, provision.StreamEvents); n != 2 {
		t.Fatalf("%d events, want 2: the original and one replay", n)
	}
	st, err := s.JS.Stream(context.Background(), provision.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	id := event.ID("d-replayed", "issues.opened")
	if m.Header.Get(jetstream.MsgIDHeader) != replay.MsgID(id, "r1") || m.Header.Get(replay.HeaderID) != "r1" || m.Header.Get(replay.HeaderTo) != "slack" {
		t.Errorf("replayed event headers: %v", m.Header)
	}
	recs := traceOf(t, s.JS, "d-replayed")
	replays := 0
	for _, r := range recs {
		if r.Replay == "r1" {
			replays++
		}
	}
	if len(recs) != 2 || replays != 1 {
		t.Errorf("trace %+v: want the original's record and one of replay r1", recs)
	}
}
