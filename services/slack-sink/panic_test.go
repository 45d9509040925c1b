package sink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// panickyConsole is a console that panics on the events it is told to.
type panickyConsole struct {
	mu      sync.Mutex
	panicOn map[string]any
	lines   []string
}

func (c *panickyConsole) Write(p []byte) (int, error) {
	line := string(p)
	for title, v := range c.panicOn {
		if strings.Contains(line, `"`+title+`"`) {
			panic(v)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
	return len(p), nil
}

func (c *panickyConsole) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// TestPanicWhilePostingDeadLettersThatDestination makes a destination
// panic on some events, in several ways: each of those events is
// dead-lettered for that destination with the panic, its other
// destination still gets it, and every other event is posted.
func TestPanicWhilePostingDeadLettersThatDestination(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	console := &panickyConsole{panicOn: map[string]any{
		"event-2": "console broke",
		"event-4": fmt.Errorf("wrapped: %w", context.Canceled),
		"event-6": []int{1, 2},
	}}
	const n = 7
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("p", i), fmt.Sprintf("p%d", i))
	}
	cfg := testConfig(writeRoutes(t, `
destinations:
  screen: {console: true}
  ok:     {webhook: "${SLACK}/ok"}
routes:
  - {name: p, match: {repo: acme/p}, to: [screen, ok]}
`), url)
	cfg.Console = console
	stop := startSink(t, cfg, ns.NC)
	defer stop()

	natstest.WaitFor(t, 20*time.Second, "posts and dead letters", func() bool {
		return len(fake.got("/ok")) >= n && console.count() >= n-3 && dlqCount(t, ns.JS) >= 3
	})
	waitAllAcked(t, ns.JS)
	if got := strings.Join(fake.got("/ok"), " "); got != strings.Join(titles(n), " ") {
		t.Errorf("the other destination got %s", got)
	}
	if c := console.count(); c != n-3 {
		t.Errorf("console printed %d events, want %d", c, n-3)
	}
	dlq, err := ns.JS.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p-2": "console broke", "p-4": "wrapped: context canceled", "p-6": "[1 2]"}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := dlq.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		reason := m.Header.Get(deadletter.HeaderReason)
		delivery := m.Header.Get("X-GitHub-Delivery")
		if delivery == "" {
			ev, err := event.Unmarshal(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			delivery = ev.Data.DeliveryID
		}
		w, ok := want[delivery]
		if !ok || m.Header.Get(HeaderDestination) != "screen" || !strings.Contains(reason, "panic: "+w) || !strings.Contains(reason, "panickyConsole") {
			t.Errorf("dead letter of %s for %s: reason %q", delivery, m.Header.Get(HeaderDestination), reason)
		}
		delete(want, delivery)
	}
	if len(want) != 0 {
		t.Errorf("no dead letter for %v", want)
	}
}

// fakeMsg is a JetStream message handed straight to the consume callback.
type fakeMsg struct {
	data    []byte
	mu      sync.Mutex
	settled []string
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: 7, Consumer: 7}, NumDelivered: 1, Stream: provision.StreamEvents}, nil
}
func (m *fakeMsg) Data() []byte                     { return m.data }
func (m *fakeMsg) Headers() nats.Header             { return nats.Header{} }
func (m *fakeMsg) Subject() string                  { return "github.event.acme.p.issues.opened" }
func (m *fakeMsg) Reply() string                    { return "" }
func (m *fakeMsg) Ack() error                       { return m.settle("ack") }
func (m *fakeMsg) DoubleAck(context.Context) error  { return m.settle("ack") }
func (m *fakeMsg) Nak() error                       { return m.settle("nak") }
func (m *fakeMsg) NakWithDelay(time.Duration) error { return m.settle("nak") }
func (m *fakeMsg) InProgress() error                { return nil }
func (m *fakeMsg) Term() error                      { return m.settle("term") }
func (m *fakeMsg) TermWithReason(string) error      { return m.settle("term") }
func (m *fakeMsg) settle(how string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settled = append(m.settled, how)
	return nil
}

// letters records dead letters.
type letters struct {
	mu  sync.Mutex
	got []deadletter.Letter
}

func (l *letters) Publish(_ context.Context, dl deadletter.Letter) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, dl)
	return nil
}

// TestPanicWhileRoutingDeadLettersTheEvent feeds the consume callback an
// event whose routing panics (here: writing its skip record to a trace
// store that has no bucket): the event is dead-lettered with the panic
// and terminated, and the callback goes on serving the next message.
func TestPanicWhileRoutingDeadLettersTheEvent(t *testing.T) {
	table, err := routes.Parse("test", []byte("destinations:\n  ok: {webhook: \"https://hooks.invalid/x\"}\nroutes:\n  - {name: only-b, match: {repo: acme/b}, to: ok}\n"), routes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dlq := &letters{}
	work, abort := context.WithCancel(context.Background())
	defer abort()
	s := &sink{
		cfg: testConfig("", "").withDefaults(), log: zerolog.Nop(), trace: &trace.Store{}, dlq: dlq,
		settler: &consume.Settler{Stage: trace.StageSink, DLQ: dlq, MaxDeliver: 3, Log: zerolog.Nop()},
		metrics: newMetrics(prometheus.NewRegistry()), work: work, abort: abort, halt: work,
		slots: make(chan struct{}, 2), queues: map[string]*queue{},
	}
	s.table.Store(table)
	b, err := event.Marshal(testEvent("p", 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		msg    *fakeMsg
		reason string
	}{
		{"routing panics", &fakeMsg{data: b}, "nil pointer dereference"},
		{"next message still served", &fakeMsg{data: []byte("not json")}, "decoding canonical event"},
	} {
		s.onMsg(tc.msg)
		if got := strings.Join(tc.msg.settled, ","); got != "term" {
			t.Errorf("%s: message settled %q, want term", tc.name, got)
		}
		if len(dlq.got) == 0 || !strings.Contains(dlq.got[len(dlq.got)-1].Reason, tc.reason) {
			t.Errorf("%s: dead letters %+v, want the last with %q", tc.name, dlq.got, tc.reason)
		}
	}
	if r := dlq.got[0].Reason; !strings.Contains(r, "panic: ") || !strings.Contains(r, "record") {
		t.Errorf("reason %q lacks the panic or where it happened", r)
	}
	if len(s.slots) != 0 {
		t.Errorf("%d slots still taken", len(s.slots))
	}
}
