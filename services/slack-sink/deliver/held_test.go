package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// fakeHolder holds events in memory, failing while fail is set.
type fakeHolder struct {
	mu   sync.Mutex
	fail error
	held []Held
}

func (h *fakeHolder) Hold(_ context.Context, x Held) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	h.held = append(h.held, x)
	return nil
}

func (h *fakeHolder) got() []Held {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Held(nil), h.held...)
}

// headerMsg is a fakeMsg with headers.
type headerMsg struct {
	*fakeMsg
	h nats.Header
}

func (m headerMsg) Headers() nats.Header { return m.h }

func settledAs(m *fakeMsg) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.settled, ",")
}

// TestEngineHoldsAndReleases: an event for a destination in its quiet
// hours goes to the holder (a failing holder makes it come back), the other
// destination gets it at once, and a released event or digest is posted to
// its one destination, quiet hours or not.
func TestEngineHoldsAndReleases(t *testing.T) {
	quiet, loud := &recordingPoster{}, &recordingPoster{}
	// The engine's clock reads 2026-01-01 00:00 UTC: quiet for "quiet".
	table, err := routes.Parse("t.yaml", []byte(`
destinations:
  quiet:
    poster: quiet
    rate: 1000
    quiet: {from: "22:00", to: "06:00", tz: UTC}
  loud: {poster: loud, rate: 1000}
routes:
  - {name: all, to: [quiet, loud]}
`), routes.Options{Types: routes.Types{"poster": posterType{"quiet": quiet, "loud": loud}}})
	if err != nil {
		t.Fatal(err)
	}
	holder := &fakeHolder{fail: errors.New("stream unavailable")}
	dlq, tr := &letters{}, &traces{}
	e := New(context.Background(), testConfig(), table, Stores{Sent: &memKV{m: map[string][]byte{}}, Threads: &memKV{m: map[string][]byte{}}, Trace: tr, DLQ: dlq, Held: holder}, prometheus.NewRegistry(), zerolog.Nop())
	defer e.Finish(closedChan(), time.Second)

	first := &fakeMsg{data: issueEvent("e1", 1, "one")}
	e.Handle(first)
	natstest.WaitFor(t, 10*time.Second, "the event handed back", func() bool { return settledAs(first) == "nak" })
	if got := loud.got(); len(got) != 1 {
		t.Fatalf("loud received %v, want the event at once", got)
	}
	holder.mu.Lock()
	holder.fail = nil
	holder.mu.Unlock()
	again := &fakeMsg{data: issueEvent("e1", 1, "one")}
	e.Handle(again)
	natstest.WaitFor(t, 10*time.Second, "the redelivery settled", func() bool { return settledAs(again) == "ack" })
	held := holder.got()
	if len(held) != 1 || held[0].Destination != "quiet" || held[0].Plan.Action != schedule.Hold || !held[0].Plan.Until.Equal(time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("held %+v, want e1 for quiet until 06:00", held)
	}
	if got := loud.got(); len(got) != 1 || len(quiet.got()) != 0 {
		t.Errorf("loud %v, quiet %v: want one post to loud, none to quiet", got, quiet.got())
	}
	if got := tr.outcomes(); !strings.Contains(got, "e1 quiet held") {
		t.Errorf("trace records: %s", got)
	}

	// Released: posted to quiet, in its quiet hours.
	rel := &fakeMsg{data: issueEvent("e1", 1, "one")}
	e.Handle(headerMsg{rel, nats.Header{HeaderReleaseTo: []string{"quiet"}, HeaderReleaseRoute: []string{"all"}}})
	natstest.WaitFor(t, 10*time.Second, "the release settled", func() bool { return settledAs(rel) == "ack" })
	if got := quiet.got(); len(got) != 1 || len(loud.got()) != 1 {
		t.Errorf("quiet %v, loud %v: want the released event posted to quiet only", got, loud.got())
	}

	// A digest to a destination that cannot post one is dead-lettered.
	b, _ := json.Marshal(schedule.Batch{ID: "digest:all:quiet:1", Route: "all", Destination: "quiet", Total: 1})
	dig := &fakeMsg{data: b}
	e.Handle(headerMsg{dig, nats.Header{HeaderReleaseTo: []string{"quiet"}, HeaderReleaseRoute: []string{"all"}, HeaderDigest: []string{"digest:all:quiet:1"}}})
	natstest.WaitFor(t, 10*time.Second, "the digest settled", func() bool { return settledAs(dig) != "" })
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	if len(dlq.got) != 1 || !strings.Contains(dlq.got[0].Reason, "cannot post a digest") {
		t.Errorf("dead letters %+v, want the digest", dlq.got)
	}
}
