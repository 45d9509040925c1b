package deliver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sink's Prometheus metrics, labelled by route and destination.
type metrics struct {
	events     *prometheus.CounterVec
	posts      *prometheus.CounterVec
	skips      *prometheus.CounterVec
	postErrs   *prometheus.CounterVec
	queueDepth *prometheus.GaugeVec
	postTime   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_sink_events_total", Help: "Canonical events the sink received, by outcome (routed, skipped, invalid, panicked).",
		}, []string{"outcome"}),
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_sink_posts_total", Help: "Posts per route and destination, by outcome (posted, duplicate, dead_lettered, retry_later: handed back to JetStream, held: until quiet hours end, digested: collected into a digest).",
		}, []string{"route", "destination", "outcome"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_sink_skips_total", Help: "Events not posted, per route and destination (route none: no route matched).",
		}, []string{"route", "destination"}),
		postErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_sink_slack_errors_total", Help: "Failed posts per destination and class (rate_limited, retryable, permanent); the name dates from when every destination was Slack.",
		}, []string{"destination", "class"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ghnotify_sink_queue_depth", Help: "Posts waiting in each destination's queue.",
		}, []string{"destination"}),
		postTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ghnotify_sink_post_duration_seconds", Help: "Time of one successful post per destination.",
			Buckets: prometheus.DefBuckets,
		}, []string{"destination"}),
	}
	m.events = register(reg, m.events)
	m.posts = register(reg, m.posts)
	m.skips = register(reg, m.skips)
	m.postErrs = register(reg, m.postErrs)
	m.queueDepth = register(reg, m.queueDepth)
	m.postTime = register(reg, m.postTime)
	return m
}

// register registers c, or returns the collector already registered under
// the same name (Run called twice in one process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
