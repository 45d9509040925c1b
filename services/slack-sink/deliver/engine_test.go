package deliver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// memKV is an in-memory key-value bucket.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

type memEntry struct {
	key string
	val []byte
}

func (e memEntry) Bucket() string                  { return "mem" }
func (e memEntry) Key() string                     { return e.key }
func (e memEntry) Value() []byte                   { return e.val }
func (e memEntry) Revision() uint64                { return 1 }
func (e memEntry) Created() time.Time              { return time.Time{} }
func (e memEntry) Delta() uint64                   { return 0 }
func (e memEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

func (kv *memKV) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	v, ok := kv.m[key]
	if !ok {
		return nil, jetstream.ErrKeyNotFound
	}
	return memEntry{key, v}, nil
}

func (kv *memKV) Put(_ context.Context, key string, value []byte) (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.m[key] = append([]byte(nil), value...)
	return 1, nil
}

// recordingPoster is a destination that threads: it answers from a
// script of errors (nil once used up) and records each post's thread.
type recordingPoster struct {
	mu     sync.Mutex
	script []error
	posts  []string // "<title> in <thread>"
	tries  int
}

func (p *recordingPoster) Post(_ context.Context, ev *event.Event, th Thread) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	if len(p.script) > 0 {
		err := p.script[0]
		p.script = p.script[1:]
		if err != nil {
			return "", err
		}
	}
	p.posts = append(p.posts, ev.Data.Target.Title+" in "+th.ID)
	return "thread-of-" + ev.Data.Target.Title, nil
}

func (p *recordingPoster) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.posts...)
}

// posterType parses `poster: NAME` into the poster of that name.
type posterType map[string]*recordingPoster

func (posterType) Keys() []string { return nil }
func (posterType) Threads() bool  { return true }
func (t posterType) Parse(f *routes.Fields) any {
	return t[f.String("poster")]
}

// traces records trace records.
type traces struct {
	mu   sync.Mutex
	recs []trace.Record
}

func (tr *traces) Put(_ context.Context, _ string, rec trace.Record) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.recs = append(tr.recs, rec)
	return nil
}

// outcomes lists "event destination outcome", sorted.
func (tr *traces) outcomes() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, r := range tr.recs {
		out = append(out, r.EventID+" "+r.Destination+" "+r.Outcome)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func issueEvent(id string, number int, title string) []byte {
	b, err := event.Marshal(&event.Event{SpecVersion: event.SpecVersion, ID: id, Source: "x", Type: event.Type("issues.opened"),
		DataContentType: event.ContentType, Data: event.Data{Kind: "issues.opened", Event: "issues", DeliveryID: id,
			Repository: &event.Repository{Owner: "acme", Name: "p", FullName: "acme/p"},
			Target:     &event.Target{Type: "issue", Number: number, Title: title}}})
	if err != nil {
		panic(err)
	}
	return b
}

// TestEngineDeliversThroughAnyPoster drives the engine with a destination
// type of the test's own: posts are threaded by the thread the poster
// returned, a redelivered event is not posted again, a rate limit and a
// transient failure are retried in place, and a permanent failure is
// dead-lettered for its destination only.
func TestEngineDeliversThroughAnyPoster(t *testing.T) {
	a := &recordingPoster{script: []error{Slow(errors.New("slow down"), time.Millisecond), Fail(Transient, errors.New("flaky"))}}
	b := &recordingPoster{script: []error{nil, Fail(Permanent, errors.New("refused: no such room"))}}
	table, err := routes.Parse("t.yaml", []byte(`
destinations:
  a: {poster: a, rate: 1000}
  b: {poster: b, rate: 1000}
routes:
  - {name: all, to: [a, b], thread: true}
`), routes.Options{Types: routes.Types{"poster": posterType{"a": a, "b": b}}})
	if err != nil {
		t.Fatal(err)
	}
	dlq := &letters{}
	sent, threads := &memKV{m: map[string][]byte{}}, &memKV{m: map[string][]byte{}}
	tr := &traces{}
	e := New(context.Background(), testConfig(), table, Stores{Sent: sent, Threads: threads, Trace: tr, DLQ: dlq}, prometheus.NewRegistry(), zerolog.Nop())
	defer e.Finish(closedChan(), time.Second)

	settledAck := func(m *fakeMsg) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return strings.Join(m.settled, ",") == "ack"
	}
	first := &fakeMsg{data: issueEvent("e1", 5, "opened")}
	e.Handle(first)
	natstest.WaitFor(t, 10*time.Second, "the first event settled", func() bool { return settledAck(first) })
	second := &fakeMsg{data: issueEvent("e2", 5, "commented")}
	e.Handle(second)
	natstest.WaitFor(t, 10*time.Second, "the second event settled", func() bool { return settledAck(second) })
	again := &fakeMsg{data: issueEvent("e1", 5, "opened")}
	e.Handle(again)
	natstest.WaitFor(t, 10*time.Second, "the redelivery settled", func() bool { return settledAck(again) })

	if got := strings.Join(a.got(), "; "); got != "opened in ; commented in thread-of-opened" {
		t.Errorf("a received %s", got)
	}
	a.mu.Lock()
	tries := a.tries
	a.mu.Unlock()
	if tries != 4 {
		t.Errorf("a tried %d times, want 4 (a rate limit and a failure retried in place)", tries)
	}
	if got := strings.Join(b.got(), "; "); got != "opened in " {
		t.Errorf("b received %s", got)
	}
	if len(dlq.got) != 1 || dlq.got[0].Header.Get(HeaderDestination) != "b" || !strings.Contains(dlq.got[0].Reason, "no such room") {
		t.Errorf("dead letters %+v, want one for b", dlq.got)
	}
	for _, key := range []string{SentKey("e1", "a"), SentKey("e1", "b"), SentKey("e2", "a"), SentKey("e2", "b")} {
		if _, err := sent.Get(context.Background(), key); err != nil {
			t.Errorf("no sent record %s", key)
		}
	}
	if got := tr.outcomes(); got != "e1 a posted, e1 b posted, e2 a posted, e2 b dead_lettered" {
		t.Errorf("trace records: %s", got)
	}
	if e, err := threads.Get(context.Background(), ThreadKey("a", "acme/p", 5)); err != nil || string(e.Value()) != "thread-of-opened" {
		t.Errorf("thread of a: %v", err)
	}
}
