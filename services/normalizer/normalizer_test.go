package normalizer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

const waitLimit = 20 * time.Second

func testConfig() Config {
	c := Defaults()
	c.AckWait = time.Second
	c.MaxDeliver = 3
	c.PullBatch = 10
	return c
}

func fixtureBody(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("normalize", "testdata", "fixtures", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rawDelivery(id, eventName string, body []byte) *delivery.Delivery {
	return &delivery.Delivery{Event: eventName, ID: id, HookID: "77", ReceivedAt: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), Body: body}
}

// publishRaw stores m in the raw stream and returns its stream sequence.
func publishRaw(t testing.TB, js jetstream.JetStream, m *nats.Msg) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, m)
	if err != nil {
		t.Fatalf("publishing raw delivery: %v", err)
	}
	return ack.Sequence
}

// startNormalizer runs the normalizer on its own connection until the test
// ends, and checks that it then returns nil.
func startNormalizer(t testing.TB, s *natstest.Server, cfg Config, observe func(delivery.Delivery, []event.Event)) {
	t.Helper()
	nc, _ := natstest.Connect(t, s.Srv.ClientURL())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nc, zerolog.Nop(), observe) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("normalizer returned %v", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("normalizer did not stop")
		}
	})
}

func streamMsgs(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// settled reports whether the normalizer consumer has nothing pending or unacked.
func settled(t testing.TB, js jetstream.JetStream) bool {
	t.Helper()
	c, err := js.Consumer(context.Background(), provision.StreamRaw, provision.ConsumerNormalizer)
	if err != nil {
		return false
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0
}

func traceStore(t testing.TB, js jetstream.JetStream) *trace.Store {
	t.Helper()
	return trace.NewStore(js)
}

func traceOf(t testing.TB, js jetstream.JetStream, deliveryID string) []trace.Record {
	t.Helper()
	recs, err := traceStore(t, js).List(context.Background(), deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// observer counts normalized deliveries, safely from any goroutine.
type observer struct {
	mu    sync.Mutex
	count map[string]int
}

func newObserver() *observer { return &observer{count: map[string]int{}} }

func (o *observer) hook(d delivery.Delivery, _ []event.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.count[d.ID]++
}

func (o *observer) seen(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count[id]
}

func (o *observer) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.count {
		n += c
	}
	return n
}

func TestRunPublishesEventsAndTraces(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	startNormalizer(t, s, testConfig(), nil)

	merged := rawDelivery("d-merged", "pull_request", fixtureBody(t, "pull_request.merged"))
	rawSeq := map[string]uint64{"d-merged": publishRaw(t, s.JS, merged.Msg())}
	// A body too big for one message travels through the object store.
	big := rawDelivery("d-big", "issues", fixtureBody(t, "issues.opened"))
	m := big.Msg()
	if err := rawbody.Offload(context.Background(), s.JS, m, big.Body); err != nil {
		t.Fatal(err)
	}
	rawSeq["d-big"] = publishRaw(t, s.JS, m)
	received := map[string]time.Time{"d-merged": merged.ReceivedAt, "d-big": big.ReceivedAt}

	natstest.WaitFor(t, waitLimit, "two events and a settled consumer", func() bool {
		return streamMsgs(t, s.JS, provision.StreamEvents) == 2 && settled(t, s.JS)
	})
	st, err := s.JS.Stream(context.Background(), provision.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ delivery, subj, kind string }{
		{"d-merged", "github.event.acme.api.pull_request.merged", "pull_request.merged"},
		{"d-big", "github.event.acme.api.issues.opened", "issues.opened"},
	}
	for _, tt := range tests {
		msg, err := st.GetLastMsgForSubject(context.Background(), tt.subj)
		if err != nil {
			t.Fatalf("no event on %s: %v", tt.subj, err)
		}
		ev, err := event.Unmarshal(msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Data.Kind != tt.kind || ev.Data.DeliveryID != tt.delivery || ev.ID != event.ID(tt.delivery, tt.kind) {
			t.Errorf("event on %s: kind %q delivery %q id %q", tt.subj, ev.Data.Kind, ev.Data.DeliveryID, ev.ID)
		}
		h := msg.Header
		if h.Get(jetstream.MsgIDHeader) != ev.ID || h.Get(event.HeaderKind) != tt.kind ||
			h.Get("Content-Type") != event.MessageContentType || h.Get(delivery.HeaderDelivery) != tt.delivery {
			t.Errorf("event headers on %s: %v", tt.subj, h)
		}
		recs := traceOf(t, s.JS, tt.delivery)
		if len(recs) != 1 {
			t.Fatalf("trace of %s has %d records, want 1", tt.delivery, len(recs))
		}
		r := recs[0]
		if r.Stage != trace.StageNormalizer || r.Outcome != trace.OutcomeNormalized ||
			len(r.Kinds) != 1 || r.Kinds[0] != tt.kind || len(r.Subjects) != 1 || r.Subjects[0] != tt.subj ||
			r.RawSequence == 0 || r.RawSequence != rawSeq[tt.delivery] || !r.ReceivedAt.Equal(received[tt.delivery]) {
			t.Errorf("trace of %s = %+v (raw sequence %d, received %s)", tt.delivery, r, rawSeq[tt.delivery], received[tt.delivery])
		}
	}
}

// TestCrashAfterPublishBeforeAck simulates a normalizer that published the
// event and died before acking: a fresh normalizer gets the redelivery, and
// the events stream still holds the event once.
func TestCrashAfterPublishBeforeAck(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := testConfig()
	ctx := t.Context()
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, ConsumerConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	publishRaw(t, s.JS, rawDelivery("d-crash", "issues", fixtureBody(t, "issues.labeled")).Msg())

	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msg jetstream.Msg
	for m := range batch.Messages() {
		msg = m
	}
	if msg == nil {
		t.Fatalf("no raw message fetched: %v", batch.Error())
	}
	doomed := &handler{js: s.JS, traces: traceStore(t, s.JS), publishTimeout: 5 * time.Second, log: zerolog.Nop()}
	if err := doomed.handle(ctx, msg); err != nil {
		t.Fatalf("first normalizer: %v", err)
	}
	// The first normalizer dies here: the message is never acked.
	if n := streamMsgs(t, s.JS, provision.StreamEvents); n != 1 {
		t.Fatalf("events stream holds %d messages after the first publish, want 1", n)
	}

	obs := newObserver()
	startNormalizer(t, s, cfg, obs.hook)
	natstest.WaitFor(t, waitLimit, "the redelivery to be normalized and acked", func() bool {
		return obs.seen("d-crash") >= 1 && settled(t, s.JS)
	})
	if n := streamMsgs(t, s.JS, provision.StreamEvents); n != 1 {
		t.Errorf("events stream holds %d messages after the redelivery, want 1", n)
	}
	st, err := s.JS.Stream(ctx, provision.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 1 {
		t.Errorf("events stream last sequence = %d, want 1: the copy was stored", info.State.LastSeq)
	}
}

// TestReplicasShareWork runs two normalizers on the same durable consumer.
func TestReplicasShareWork(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := Defaults()
	cfg.PullBatch = 5
	var obsA, obsB = newObserver(), newObserver()
	startNormalizer(t, s, cfg, obsA.hook)
	startNormalizer(t, s, cfg, obsB.hook)
	natstest.WaitFor(t, waitLimit, "both replicas to pull", func() bool {
		c, err := s.JS.Consumer(context.Background(), provision.StreamRaw, provision.ConsumerNormalizer)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumWaiting >= 2
	})

	const n = 200
	body := fixtureBody(t, "issues.opened")
	for i := range n {
		publishRaw(t, s.JS, rawDelivery(fmt.Sprintf("d-%03d", i), "issues", body).Msg())
	}
	natstest.WaitFor(t, waitLimit, "every delivery to be normalized", func() bool {
		return obsA.total()+obsB.total() >= n && settled(t, s.JS)
	})
	for i := range n {
		id := fmt.Sprintf("d-%03d", i)
		if got := obsA.seen(id) + obsB.seen(id); got != 1 {
			t.Errorf("delivery %s normalized %d times, want 1", id, got)
		}
	}
	if obsA.total() == 0 || obsB.total() == 0 {
		t.Errorf("work did not spread: replica A did %d, replica B did %d", obsA.total(), obsB.total())
	}
	if got := streamMsgs(t, s.JS, provision.StreamEvents); got != n {
		t.Errorf("events stream holds %d events, want %d", got, n)
	}
}

// TestPoisonMessageIsDeadLettered checks that unusable raw messages land in
// the dead-letter stream with their reason and headers, are traced, and do
// not hold up the message behind them.
func TestPoisonMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	startNormalizer(t, s, testConfig(), nil)

	poison := rawDelivery("d-poison", "issues", []byte("this is not json"))
	publishRaw(t, s.JS, poison.Msg())
	headerless := nats.NewMsg(subject.Raw("issues"))
	headerless.Data = []byte(`{}`)
	publishRaw(t, s.JS, headerless)
	expired := rawDelivery("d-expired", "issues", nil).Msg()
	expired.Header.Set(rawbody.HeaderRef, "0000000000000000000000000000000000000000000000000000000000000000")
	publishRaw(t, s.JS, expired)
	publishRaw(t, s.JS, rawDelivery("d-good", "issues", fixtureBody(t, "issues.opened")).Msg())

	natstest.WaitFor(t, waitLimit, "three dead letters, one event and a settled consumer", func() bool {
		return streamMsgs(t, s.JS, provision.StreamDLQ) == 3 && streamMsgs(t, s.JS, provision.StreamEvents) == 1 && settled(t, s.JS)
	})
	dlq, err := s.JS.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	first, err := dlq.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := subject.DLQ(trace.StageNormalizer, subject.Raw("issues")); first.Subject != want {
		t.Errorf("dead letter subject = %q, want %q", first.Subject, want)
	}
	h := first.Header
	if !strings.Contains(h.Get(deadletter.HeaderReason), "not a JSON object") {
		t.Errorf("dead letter reason = %q", h.Get(deadletter.HeaderReason))
	}
	if h.Get(delivery.HeaderDelivery) != "d-poison" || h.Get(delivery.HeaderEvent) != "issues" ||
		h.Get(deadletter.HeaderOriginalMsgID) != "d-poison" || h.Get(deadletter.HeaderStage) != trace.StageNormalizer {
		t.Errorf("dead letter headers = %v", h)
	}
	if string(first.Data) != "this is not json" {
		t.Errorf("dead letter body = %q", first.Data)
	}
	recs := traceOf(t, s.JS, "d-poison")
	if len(recs) != 1 || recs[0].Outcome != trace.OutcomeDeadLettered || !strings.Contains(recs[0].Reason, "not a JSON object") {
		t.Errorf("trace of the poison message = %+v", recs)
	}
	second, err := dlq.GetMsg(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.Header.Get(deadletter.HeaderReason), delivery.HeaderEvent) {
		t.Errorf("headerless dead letter reason = %q", second.Header.Get(deadletter.HeaderReason))
	}
	recs = traceOf(t, s.JS, fmt.Sprintf("%s:%s", provision.StreamRaw, second.Header.Get(deadletter.HeaderSequence)))
	if len(recs) != 1 || recs[0].Outcome != trace.OutcomeDeadLettered {
		t.Errorf("trace of the headerless message = %+v", recs)
	}
	if recs := traceOf(t, s.JS, "d-expired"); len(recs) != 1 || recs[0].Outcome != trace.OutcomeDeadLettered ||
		!strings.Contains(recs[0].Reason, "loading raw body") {
		t.Errorf("trace of the message whose body expired = %+v", recs)
	}
	if recs := traceOf(t, s.JS, "d-good"); len(recs) != 1 || recs[0].Outcome != trace.OutcomeNormalized {
		t.Errorf("trace of the good message = %+v", recs)
	}
}

// flakyTraces fails every write of one outcome and keeps the others.
type flakyTraces struct {
	mu      sync.Mutex
	failFor string
	recs    map[string]trace.Record
}

func (f *flakyTraces) Put(_ context.Context, key string, rec trace.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec.Outcome == f.failFor {
		return errors.New("trace bucket unavailable")
	}
	f.recs[key] = rec
	return nil
}

func (f *flakyTraces) get(key string) (trace.Record, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recs[key]
	return r, ok
}

// TestLastDeliveryIsDeadLettered checks that a message failing for a
// transient reason on every delivery is dead-lettered and traced on its last.
func TestLastDeliveryIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := testConfig()
	cfg.MaxDeliver = 2
	ctx, cancel := context.WithCancel(t.Context())
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, provision.StreamRaw, ConsumerConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	traces := &flakyTraces{failFor: trace.OutcomeNormalized, recs: map[string]trace.Record{}}
	h := &handler{js: s.JS, traces: traces, publishTimeout: 5 * time.Second, log: zerolog.Nop()}
	settler := &consume.Settler{
		Stage:      trace.StageNormalizer,
		DLQ:        &tracingDeadLetterer{next: &deadletter.Publisher{JS: s.JS}, traces: traces},
		MaxDeliver: cfg.MaxDeliver,
		Backoff:    func(uint64) time.Duration { return 10 * time.Millisecond },
		Log:        zerolog.Nop(),
	}
	done := make(chan error, 1)
	go func() { done <- consume.Run(ctx, cons, h.handle, settler) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume.Run: %v", err)
		}
	}()

	publishRaw(t, s.JS, rawDelivery("d-flaky", "issues", fixtureBody(t, "issues.opened")).Msg())
	key := trace.Key("d-flaky", trace.StageNormalizer)
	natstest.WaitFor(t, waitLimit, "the dead-letter trace record", func() bool {
		_, ok := traces.get(key)
		return ok && settled(t, s.JS)
	})
	rec, _ := traces.get(key)
	if rec.Outcome != trace.OutcomeDeadLettered || !strings.Contains(rec.Reason, "gave up after 2 deliveries") {
		t.Errorf("trace record = %+v", rec)
	}
	if n := streamMsgs(t, s.JS, provision.StreamDLQ); n != 1 {
		t.Errorf("dead-letter stream holds %d messages, want 1", n)
	}
}

// fakeDLQ records letters or fails.
type fakeDLQ struct {
	err     error
	letters []deadletter.Letter
}

func (f *fakeDLQ) Publish(_ context.Context, l deadletter.Letter) error {
	if f.err != nil {
		return f.err
	}
	f.letters = append(f.letters, l)
	return nil
}

func TestTracingDeadLetterer(t *testing.T) {
	t.Parallel()
	hdr := nats.Header{}
	hdr.Set(delivery.HeaderDelivery, "d1")
	hdr.Set(delivery.HeaderEvent, "push")
	letter := deadletter.Letter{Stage: trace.StageNormalizer, Subject: "github.raw.push", Header: hdr, Reason: "bad", Stream: provision.StreamRaw, Sequence: 9}
	tests := []struct {
		name       string
		dlqErr     error
		traceFails bool
		letter     deadletter.Letter
		wantErr    bool
		wantKey    string
	}{
		{name: "recorded under the delivery id", letter: letter, wantKey: trace.Key("d1", trace.StageNormalizer)},
		{name: "recorded under the stream position without a delivery id", letter: deadletter.Letter{Reason: "bad", Stream: provision.StreamRaw, Sequence: 9},
			wantKey: trace.Key(provision.StreamRaw+":9", trace.StageNormalizer)},
		{name: "dead-lettering fails", letter: letter, dlqErr: errors.New("no stream"), wantErr: true},
		{name: "tracing fails", letter: letter, traceFails: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			traces := &flakyTraces{recs: map[string]trace.Record{}}
			if tt.traceFails {
				traces.failFor = trace.OutcomeDeadLettered
			}
			next := &fakeDLQ{err: tt.dlqErr}
			err := (&tracingDeadLetterer{next: next, traces: traces}).Publish(context.Background(), tt.letter)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Publish = %v, want error: %v", err, tt.wantErr)
			}
			if tt.dlqErr != nil && len(traces.recs) != 0 {
				t.Errorf("traced a letter that was not stored: %v", traces.recs)
			}
			if tt.wantKey == "" {
				return
			}
			rec, ok := traces.get(tt.wantKey)
			if !ok || rec.Outcome != trace.OutcomeDeadLettered || rec.Reason != "bad" || len(next.letters) != 1 {
				t.Errorf("record %q = %+v (%v), letters %d", tt.wantKey, rec, ok, len(next.letters))
			}
		})
	}
}
