package gateway

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Refusal reasons, the values of the reason label.
const (
	refusedMethod      = "method"
	refusedForbidden   = "forbidden"
	refusedTooLarge    = "too_large"
	refusedBadRead     = "read_failed"
	refusedHeaders     = "headers"
	refusedContentType = "content_type"
	refusedSignature   = "signature"
	refusedPayload     = "payload"
	refusedUnavailable = "unavailable"
	refusedBusy        = "busy"
)

// metrics are the gateway's Prometheus metrics, in a registry of their own.
type metrics struct {
	reg            *prometheus.Registry
	gatherer       prometheus.Gatherer
	requests       *prometheus.CounterVec
	refusals       *prometheus.CounterVec
	duplicates     *prometheus.CounterVec
	secretMatches  *prometheus.CounterVec
	insecure       prometheus.Counter
	requestSeconds prometheus.Histogram
	publishSeconds prometheus.Histogram
	traceFailures  prometheus.Counter
	traceSkipped   prometheus.Counter
}

// newMetrics registers the gateway's metrics in a registry of their own;
// /metrics serves them together with extra, when it is not nil, and with Go
// and process metrics (taken from extra where it is set, so none repeats).
func newMetrics(extra prometheus.Gatherer) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_gateway_requests_total",
			Help: "Signed webhook deliveries by GitHub event (\"other\" for a name GitHub does not send) and outcome (stored, duplicate, unavailable).",
		}, []string{"event", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_gateway_refusals_total",
			Help: "Requests refused, by reason.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_gateway_duplicates_total",
			Help: "Duplicate deliveries answered 200 and not stored, by what repeated (delivery_id, body).",
		}, []string{"kind"}),
		secretMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghnotify_gateway_signature_matches_total",
			Help: "Valid signatures by the index of the secret that matched (0 is the first configured).",
		}, []string{"secret_index"}),
		insecure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ghnotify_gateway_unverified_requests_total",
			Help: "Requests accepted without signature check because GHNOTIFY_INSECURE_SKIP_SIGNATURE is set.",
		}),
		requestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ghnotify_gateway_request_duration_seconds",
			Help:    "Time from reading the request to answering it, for webhook requests.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ghnotify_gateway_publish_duration_seconds",
			Help:    "Time to store one delivery in JetStream, until the PubAck.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		traceFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ghnotify_gateway_trace_failures_total",
			Help: "Trace records that could not be written or were dropped.",
		}),
		traceSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ghnotify_gateway_trace_skipped_total",
			Help: "Duplicate trace records not written: the same record written recently, or over the trace write rate.",
		}),
	}
	m.reg.MustRegister(m.requests, m.refusals, m.duplicates, m.secretMatches, m.insecure,
		m.requestSeconds, m.publishSeconds, m.traceFailures, m.traceSkipped)
	m.gatherer = m.reg
	if extra != nil {
		m.gatherer = prometheus.Gatherers{m.reg, extra}
	} else {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// observeIndex exports the dedupe index's progress through the raw stream.
func (m *metrics) observeIndex(d *Deduper) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ghnotify_gateway_dedupe_index_sequence",
			Help: "Last raw stream sequence read into the dedupe index.",
		}, func() float64 { return float64(d.LastSequence()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ghnotify_gateway_dedupe_index_keys",
			Help: "Delivery ids and body digests in the dedupe index.",
		}, func() float64 { return float64(d.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ghnotify_gateway_dedupe_index_ready",
			Help: "1 once the dedupe index has read the raw stream up to where it was at start.",
		}, func() float64 {
			if d.Ready() {
				return 1
			}
			return 0
		}),
	)
}

// observeBudget exports the body bytes reserved in the in-flight budget.
func (m *metrics) observeBudget(b *byteBudget) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ghnotify_gateway_inflight_body_bytes",
			Help: "Request body bytes reserved now in the in-flight budget (GHNOTIFY_MAX_INFLIGHT_BYTES).",
		}, func() float64 { return float64(b.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ghnotify_gateway_inflight_body_limit_bytes",
			Help: "The in-flight body budget (GHNOTIFY_MAX_INFLIGHT_BYTES).",
		}, func() float64 { return float64(b.limit) }),
	)
}

func (m *metrics) matched(index int) {
	m.secretMatches.WithLabelValues(strconv.Itoa(index)).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}
