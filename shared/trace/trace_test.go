package trace_test

import (
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
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
	kv, err := s.JS.KeyValue(ctx, provision.BucketTrace)
	if err != nil {
		t.Fatal(err)
	}
	st := &trace.Store{KV: kv}
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
}
