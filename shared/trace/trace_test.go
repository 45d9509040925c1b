package trace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
)

func TestKeyPart(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"72d3162e-cc78-11e3-81ab-4c9367dc0958", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{"abc_DEF-1", "abc_DEF-1"},
		{"a.b", "=YS5i"},
		{"=x", "=PXg"},
		{"", "="},
		{"d1/issues.opened", "=ZDEvaXNzdWVzLm9wZW5lZA"},
	}
	for _, tt := range tests {
		got := trace.KeyPart(tt.in)
		if got != tt.want {
			t.Errorf("KeyPart(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := trace.DecodeKeyPart(got)
		if err != nil || back != tt.in {
			t.Errorf("DecodeKeyPart(%q) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}

func FuzzKeyPart(f *testing.F) {
	f.Add("72d3162e-cc78")
	f.Add("a.b/c d")
	f.Fuzz(func(t *testing.T, s string) {
		p := trace.KeyPart(s)
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
				t.Fatalf("KeyPart(%q) = %q has byte %q not allowed in a key token", s, p, c)
			}
		}
		back, err := trace.DecodeKeyPart(p)
		if err != nil || back != s {
			t.Fatalf("round trip of %q: %q, %v", s, back, err)
		}
	})
}

func TestStorePutList(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st := trace.NewStore(s.JS)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []struct {
		key string
		rec trace.Record
	}{
		{trace.Key("d.1", trace.StageSink, "d.1/issues.opened", "console"), trace.Record{Stage: trace.StageSink, DeliveryID: "d.1", Outcome: trace.OutcomePosted, At: t0.Add(2 * time.Second)}},
		{trace.Key("d.1", trace.StageGateway), trace.Record{Stage: trace.StageGateway, DeliveryID: "d.1", Outcome: trace.OutcomeStored, At: t0}},
		{trace.Key("d.1", trace.StageNormalizer), trace.Record{Stage: trace.StageNormalizer, DeliveryID: "d.1", Outcome: trace.OutcomeNormalized, Kinds: []string{"issues.opened"}, At: t0.Add(time.Second)}},
		{trace.Key("d.10", trace.StageGateway), trace.Record{Stage: trace.StageGateway, DeliveryID: "d.10", Outcome: trace.OutcomeStored, At: t0}},
	}
	for _, r := range recs {
		if err := st.Put(ctx, r.key, r.rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.List(ctx, "d.1")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, r := range got {
		stages = append(stages, r.Stage)
	}
	want := []string{trace.StageGateway, trace.StageNormalizer, trace.StageSink}
	if len(stages) != len(want) {
		t.Fatalf("List(d.1) stages = %v, want %v", stages, want)
	}
	for i := range want {
		if stages[i] != want[i] {
			t.Fatalf("List(d.1) stages = %v, want %v", stages, want)
		}
	}
	if got[1].Kinds[0] != "issues.opened" {
		t.Errorf("record lost its kinds: %+v", got[1])
	}
	// A fact stored again under the same key supersedes the earlier one.
	if err := st.Put(ctx, recs[0].key, trace.Record{Stage: trace.StageSink, DeliveryID: "d.1", Outcome: trace.OutcomeDeadLettered, At: t0.Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err = st.List(ctx, "d.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Outcome != trace.OutcomeDeadLettered {
		t.Fatalf("after a second Put under one key: %+v, want 3 records ending dead_lettered", got)
	}
	// The key says which delivery a record belongs to, as it always has.
	if err := st.Put(ctx, trace.Key("d.1", trace.StageGateway, trace.OutcomeDuplicate), trace.Record{Stage: trace.StageGateway, Outcome: trace.OutcomeDuplicate, At: t0.Add(4 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.List(ctx, "d.1"); err != nil || len(got) != 4 || got[3].Outcome != trace.OutcomeDuplicate {
		t.Fatalf("record without a delivery id under d.1's key: %+v, %v", got, err)
	}
	if got, err := st.List(ctx, "never-seen"); err != nil || len(got) != 0 {
		t.Fatalf("List(never-seen) = %+v, %v; want nothing", got, err)
	}
}

// TestStoreKeepsNoStatePerDelivery checks the property the stream layout
// exists for: facts of many deliveries share few subjects, and a
// delivery's facts are still found among them.
func TestStoreKeepsNoStatePerDelivery(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := trace.NewStore(s.JS)
	const n = 2000
	for i := range n {
		id := fmt.Sprintf("dlv-%d", i)
		if err := st.Put(ctx, trace.Key(id, trace.StageNormalizer), trace.Record{Stage: trace.StageNormalizer, DeliveryID: id, Outcome: trace.OutcomeNormalized}); err != nil {
			t.Fatal(err)
		}
	}
	str, err := s.JS.Stream(ctx, provision.StreamTrace)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n || info.State.NumSubjects > trace.Shards {
		t.Fatalf("trace stream holds %d messages on %d subjects; want %d on at most %d", info.State.Msgs, info.State.NumSubjects, n, trace.Shards)
	}
	for _, id := range []string{"dlv-0", "dlv-1234", "dlv-1999"} {
		got, err := st.List(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].DeliveryID != id {
			t.Fatalf("List(%s) = %+v", id, got)
		}
	}
}

func TestStoreRecentScanWatch(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := trace.NewStore(s.JS)
	if got, err := st.Recent(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("Recent on empty streams = %+v, %v", got, err)
	}
	feed, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("r-%d", i)
		m := nats.NewMsg(subject.Raw("issues"))
		m.Header.Set(delivery.HeaderDelivery, id)
		m.Header.Set(delivery.HeaderEvent, "issues")
		m.Data = []byte("{}")
		if _, err := s.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		if i < 4 { // r-4 is stored, not yet normalized
			if err := st.Put(ctx, trace.Key(id, trace.StageNormalizer), trace.Record{Stage: trace.StageNormalizer, DeliveryID: id, Outcome: trace.OutcomeNormalized}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := st.Recent(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, fmt.Sprintf("%s:%d:%s", d.DeliveryID, len(d.Records), d.Event))
	}
	if want := []string{"r-4:0:issues", "r-3:1:issues", "r-2:1:issues"}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("Recent(3) = %v, want %v", ids, want)
	}
	if got[0].RawSequence != 5 || got[0].ReceivedAt.IsZero() {
		t.Errorf("Recent(3)[0] = %+v, want raw sequence 5 and a reception time", got[0])
	}
	var seen []string
	err = st.Scan(ctx, time.Time{}, func(f trace.Fact) error {
		seen = append(seen, f.Record.DeliveryID)
		return nil
	})
	if err != nil || fmt.Sprint(seen) != "[r-0 r-1 r-2 r-3]" {
		t.Fatalf("Scan = %v, %v", seen, err)
	}
	for i := range 4 {
		select {
		case f := <-feed:
			if want := fmt.Sprintf("r-%d", i); f.Record.DeliveryID != want || f.Key != trace.Key(want, trace.StageNormalizer) || f.Sequence != uint64(i+1) {
				t.Fatalf("Watch fact %d = %+v, want %s", i, f, want)
			}
		case <-ctx.Done():
			t.Fatal("Watch delivered no fact")
		}
	}
	wctx, wcancel := context.WithCancel(ctx)
	feed2, err := st.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	wcancel()
	for range feed2 { // closed once its context ends
	}
}

func TestRawStreamName(t *testing.T) {
	if trace.RawStream != provision.StreamRaw {
		t.Fatalf("trace.RawStream = %q, provision.StreamRaw = %q", trace.RawStream, provision.StreamRaw)
	}
}
