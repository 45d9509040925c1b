package replay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/nats-io/nats.go"
)

func TestHeadersAndIDs(t *testing.T) {
	h := nats.Header{}
	if replay.ID(h) != "" || replay.To(h) != "" || replay.ID(nil) != "" {
		t.Fatal("an original message reads as a replay")
	}
	h.Set(replay.HeaderID, " r1 ")
	h.Set(replay.HeaderTo, "slack")
	if replay.ID(h) != "r1" || replay.To(h) != "slack" {
		t.Errorf("ID %q, To %q", replay.ID(h), replay.To(h))
	}
	if got := replay.MsgID("d1/issues.opened", "r1"); got != "d1/issues.opened/replay/r1" {
		t.Errorf("MsgID = %q", got)
	}
	a, err := replay.NewID(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := replay.NewID(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	if a == b || !strings.HasPrefix(a, "r20260504T120000-") || !replay.ValidID(a) {
		t.Errorf("NewID gave %q and %q", a, b)
	}
	for id, want := range map[string]bool{"redrive-12": true, "by_hand": true, "": false, "a.b": false, "a/b": false, strings.Repeat("x", 65): false} {
		if replay.ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, !want, want)
		}
	}
}
