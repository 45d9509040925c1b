package sink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const skipRoutes = `
destinations:
  ok:    {webhook: "${SLACK}/ok"}
  picky: {webhook: "${SLACK}/picky", match: {labels: [urgent]}}
routes:
  - {name: no-bots, drop: true, match: {bot: true}}
  - {name: a, match: {repo: acme/a}, to: [ok, picky]}
`

// TestSkipsAreTracedAndCounted checks that every skip (no route matched,
// dropped by a route, destination filtered) lands in the delivery's trace
// record with its reason, and that the metrics count posts and skips per
// route and destination.
func TestSkipsAreTracedAndCounted(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	cfg := testConfig(writeRoutes(t, skipRoutes), url)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	human := testEvent("a", 1)
	bot := testEvent("a", 2)
	bot.Data.Actor.Bot = true
	elsewhere := testEvent("b", 1)
	publish(t, ns.JS, human, "a-1")
	publish(t, ns.JS, bot, "a-2")
	publish(t, ns.JS, elsewhere, "b-1")
	stop := startSink(t, cfg, ns.NC)
	defer stop()

	store := trace.NewStore(ns.JS)
	want := map[string][]trace.Record{
		"a-1": {
			{Outcome: trace.OutcomePosted, Route: "a", Destination: "ok"},
			{Outcome: trace.OutcomeSkipped, Route: "a", Destination: "picky", Reason: "destination picky filtered the event: labels.any"},
		},
		"a-2": {{Outcome: trace.OutcomeSkipped, Route: "no-bots", Reason: "dropped by route no-bots"}},
		"b-1": {{Outcome: trace.OutcomeSkipped, Reason: "no route matched"}},
	}
	for delivery, recs := range want {
		var got []trace.Record
		natstest.WaitFor(t, 10*time.Second, "trace of "+delivery, func() bool {
			var err error
			got, err = store.List(context.Background(), delivery)
			return err == nil && len(got) >= len(recs)
		})
		for _, w := range recs {
			found := false
			for _, g := range got {
				if g.Stage == trace.StageSink && g.Outcome == w.Outcome && g.Route == w.Route && g.Destination == w.Destination && strings.HasPrefix(g.Reason, w.Reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("trace of %s lacks %+v; has %+v", delivery, w, got)
			}
		}
	}
	if got := fake.got("/picky"); len(got) != 0 {
		t.Errorf("the filtered destination received %v", got)
	}

	counters := map[string]float64{
		`ghnotify_sink_posts_total{destination="ok",outcome="posted",route="a"}`: 1,
		`ghnotify_sink_skips_total{destination="picky",route="a"}`:               1,
		`ghnotify_sink_skips_total{destination="none",route="no-bots"}`:          1,
		`ghnotify_sink_skips_total{destination="none",route="none"}`:             1,
		`ghnotify_sink_events_total{outcome="routed"}`:                           1,
		`ghnotify_sink_events_total{outcome="skipped"}`:                          2,
	}
	natstest.WaitFor(t, 10*time.Second, "the metrics", func() bool {
		got := gather(t, reg)
		for k, v := range counters {
			if got[k] != v {
				return false
			}
		}
		return true
	})
}

// gather returns every counter and gauge of reg by name{labels}.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
