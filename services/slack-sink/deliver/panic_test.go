package deliver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

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
	table, err := routes.Parse("test", []byte("destinations:\n  ok: {test: true}\nroutes:\n  - {name: only-b, match: {repo: acme/b}, to: ok}\n"), routes.Options{Types: routes.Types{"test": testType{}}})
	if err != nil {
		t.Fatal(err)
	}
	dlq := &letters{}
	s := New(context.Background(), testConfig(), table, Stores{Trace: &trace.Store{}, DLQ: dlq}, prometheus.NewRegistry(), zerolog.Nop())
	defer s.Finish(closedChan(), time.Second)
	b, err := event.Marshal(&event.Event{SpecVersion: event.SpecVersion, ID: "p-1", Source: "x", Type: event.Type("issues.opened"),
		DataContentType: event.ContentType, Data: event.Data{Kind: "issues.opened", Event: "issues", DeliveryID: "p-1",
			Repository: &event.Repository{Owner: "acme", Name: "p", FullName: "acme/p"}}})
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
		s.Handle(tc.msg)
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

// testType is a destination type for engine tests: `test: true`.
type testType struct{}

func (testType) Keys() []string             { return nil }
func (testType) Threads() bool              { return false }
func (testType) Parse(f *routes.Fields) any { f.Bool("test"); return nil }

// testConfig is an engine configuration on a clock of its own, which
// moves only when the engine sleeps, by what it asked for.
func testConfig() Config {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return Config{
		MaxInFlight: 2, PostAttempts: 3, MaxDeliver: 3, AckWait: time.Second,
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
			return ctx.Err()
		},
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
}

func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
