package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// response is the JSON body of every answer to a webhook request.
type response struct {
	Status   string `json:"status"`
	Delivery string `json:"delivery,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Error    string `json:"error,omitempty"`
}

// webhookHandler is the thin HTTP side of POST /webhooks/github: it checks
// the request in a fixed order, turns it into typed values and hands them to
// the Ingester.
//
// Order of checks: allowlist (403), declared size (413), GitHub headers
// (400), content type (415), signature header syntax (401), in-flight byte
// budget (503), body size (413), signature (401), payload (400). Everything
// that can be checked without the body is checked before a byte of it is
// read, so that requests which would be refused anyway cost no memory; the
// body of the others is read only within the in-flight byte budget; the
// HMAC is computed only for well-formed requests.
type webhookHandler struct {
	allow    *Allowlist
	verifier *Verifier
	insecure bool
	maxBody  int64
	budget   *byteBudget
	retry    string
	ingest   *Ingester
	metrics  *metrics
	sampler  *refusalSampler
	log      zerolog.Logger
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { h.metrics.requestSeconds.Observe(time.Since(start).Seconds()) }()
	hdr := requestHeader(r.Header)
	// Until the headers are validated, log lines say what they claim, made
	// safe; the fields are computed only for lines that are written.
	log := &requestLog{log: h.log, r: r}

	if !h.allow.Allows(r.RemoteAddr, r.Header.Values("X-Forwarded-For")) {
		h.refuse(w, log, http.StatusForbidden, refusedForbidden, "client address not allowed")
		return
	}
	if r.ContentLength > h.maxBody {
		h.refuse(w, log, http.StatusRequestEntityTooLarge, refusedTooLarge, "body larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		return
	}
	id, err := ParseIdentity(hdr)
	if err != nil {
		h.refuse(w, log, http.StatusBadRequest, refusedHeaders, err.Error())
		return
	}
	log.id = &id
	format, err := parseContentType(hdr.Get("Content-Type"))
	if err != nil {
		h.refuse(w, log, http.StatusUnsupportedMediaType, refusedContentType, err.Error())
		return
	}
	var want [sha256.Size]byte
	if !h.insecure {
		if want, err = parseSignatureHeader(hdr.Get(headerSignature256), hdr.Get(headerSignatureSHA1)); err != nil {
			h.refuse(w, log, http.StatusUnauthorized, refusedSignature, err.Error())
			return
		}
	}
	rb, err := readBody(w, r, h.maxBody, h.budget)
	defer rb.release()
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.Is(err, errBudgetFull):
			h.busy(w, log)
		case errors.As(err, &tooLarge) || errors.Is(err, errDeclaredTooLarge):
			h.refuse(w, log, http.StatusRequestEntityTooLarge, refusedTooLarge, "body larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		default:
			h.refuse(w, log, http.StatusBadRequest, refusedBadRead, "reading body failed")
		}
		return
	}
	var bodyKey [sha256.Size]byte
	if h.insecure {
		h.metrics.insecure.Inc()
		log.Warn().Msg("signature not checked: GHNOTIFY_INSECURE_SKIP_SIGNATURE is set; never run like this in production")
	} else {
		idx, key, err := h.verifier.verifyKey(rb.chunks, want)
		if err != nil {
			h.refuse(w, log, http.StatusUnauthorized, refusedSignature, err.Error())
			return
		}
		h.metrics.matched(idx)
		bodyKey = key
	}
	// A body read in chunks becomes one buffer only once signed.
	body := rb.bytes()
	payload := body
	if format == formatForm {
		if payload, err = formPayload(body); err != nil {
			h.refuse(w, log, http.StatusBadRequest, refusedPayload, err.Error())
			return
		}
	}
	if !validJSON(payload) {
		h.refuse(w, log, http.StatusBadRequest, refusedPayload, "payload is not valid JSON")
		return
	}
	if h.insecure {
		bodyKey = bodyKeyUnsigned(payload)
	}

	// The delivery is stored whether or not the client waits for the answer.
	label := eventLabel(id.Event)
	res, err := h.ingest.Ingest(context.WithoutCancel(r.Context()), id, payload, bodyKey, start.UTC())
	switch {
	case err != nil:
		h.metrics.requests.WithLabelValues(label, "unavailable").Inc()
		h.metrics.refusals.WithLabelValues(refusedUnavailable).Inc()
		// Sampled as refusals are: during a NATS election every delivery
		// fails alike for seconds, and one line each would flood the log.
		if h.sampler.allow(refusedUnavailable) {
			log.Error().Err(err).Msg("storing delivery failed; answered 503")
		}
		w.Header().Set("Retry-After", h.retry)
		writeJSON(w, http.StatusServiceUnavailable, response{Status: "unavailable", Error: "storage unavailable; retry later"})
	case res.Outcome == Duplicate:
		h.metrics.requests.WithLabelValues(label, string(Duplicate)).Inc()
		kind := "delivery_id"
		if res.Reason == ReasonBody {
			kind = "body"
		}
		h.metrics.duplicates.WithLabelValues(kind).Inc()
		log.Info().Str("reason", res.Reason).Msg("duplicate delivery not stored")
		writeJSON(w, http.StatusOK, response{Status: string(Duplicate), Delivery: id.DeliveryID, Reason: res.Reason})
	default:
		h.metrics.requests.WithLabelValues(label, string(Stored)).Inc()
		log.Info().Uint64("seq", res.Seq).Int("bytes", len(payload)).Msg("delivery stored")
		writeJSON(w, http.StatusAccepted, response{Status: string(Stored), Delivery: id.DeliveryID})
	}
}

// busy answers 503 with Retry-After to a request whose body does not fit
// in the in-flight byte budget.
func (h *webhookHandler) busy(w http.ResponseWriter, log *requestLog) {
	w.Header().Set("Retry-After", h.retry)
	h.refuse(w, log, http.StatusServiceUnavailable, refusedBusy, "too many request bodies in flight; retry later")
}

func (h *webhookHandler) refuse(w http.ResponseWriter, log *requestLog, status int, reason, msg string) {
	h.metrics.refusals.WithLabelValues(reason).Inc()
	if h.sampler.allow(reason) {
		log.Warn().Int("status", status).Str("reason", reason).Str("detail", msg).Msg("request refused")
	}
	writeJSON(w, status, response{Status: "refused", Error: msg})
}

// requestLog writes the log lines of one webhook request, each with the
// request's delivery, event and user agent. Until the headers are
// validated (id is nil) those are what the headers claim, made safe. The
// fields are computed only for a line that is written, not per request.
type requestLog struct {
	log zerolog.Logger
	r   *http.Request
	id  *Identity
}

func (l *requestLog) Info() *zerolog.Event  { return l.fields(l.log.Info()) }
func (l *requestLog) Warn() *zerolog.Event  { return l.fields(l.log.Warn()) }
func (l *requestLog) Error() *zerolog.Event { return l.fields(l.log.Error()) }

func (l *requestLog) fields(e *zerolog.Event) *zerolog.Event {
	if e == nil { // level disabled
		return nil
	}
	if l.id != nil {
		return e.Str("delivery", l.id.DeliveryID).Str("event", l.id.Event).Str("user_agent", logSafe(l.r.UserAgent()))
	}
	hdr := requestHeader(l.r.Header)
	return e.Str("delivery", logSafe(hdr.Get(headerDelivery))).Str("event", logSafe(hdr.Get(headerEvent))).
		Str("user_agent", logSafe(l.r.UserAgent()))
}

// requestHeader reads a request's GitHub headers by their canonical keys,
// written out once: http.Header.Get canonicalises its key on every call,
// and allocates doing so for keys such as X-GitHub-Event.
type requestHeader http.Header

func (h requestHeader) Get(key string) string {
	var v []string
	switch key {
	case headerEvent:
		v = h["X-Github-Event"]
	case headerDelivery:
		v = h["X-Github-Delivery"]
	case headerHookID:
		v = h["X-Github-Hook-Id"]
	case headerTargetType:
		v = h["X-Github-Hook-Installation-Target-Type"]
	case headerTargetID:
		v = h["X-Github-Hook-Installation-Target-Id"]
	case headerSignature256:
		v = h["X-Hub-Signature-256"]
	case headerSignatureSHA1:
		v = h["X-Hub-Signature"]
	case "Content-Type":
		v = h["Content-Type"]
	default:
		return http.Header(h).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// errDeclaredTooLarge is a Content-Length above the cap: refused before
// reading a byte of the body.
var errDeclaredTooLarge = errors.New("declared body too large")

func writeJSON(w http.ResponseWriter, status int, v response) {
	b := v.appendJSON(make([]byte, 0, 128))
	b = append(b, '\n')
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// jsonContentType is the Content-Type header of every answer (net/http
// only reads header values, so one slice serves every response).
var jsonContentType = []string{"application/json"}

// appendJSON appends v as encoding/json.Marshal writes it.
func (v response) appendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, v.Status)
	if v.Delivery != "" {
		b = append(b, `,"delivery":`...)
		b = appendJSONString(b, v.Delivery)
	}
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, v.Reason)
	}
	if v.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, v.Error)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// plain ASCII as it is, anything that encoding/json would escape (quotes,
// backslashes, control characters, <, >, &, non-ASCII) through it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// allowedMethods are the methods of each route, for the Allow header of a 405.
var allowedMethods = map[string]string{
	WebhookPath: http.MethodPost,
	"/healthz":  "GET, HEAD",
	"/readyz":   "GET, HEAD",
}

// methodNotAllowed answers 405, with the route's Allow header, for other
// methods on a known route.
func methodNotAllowed(m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.refusals.WithLabelValues(refusedMethod).Inc()
		allow := allowedMethods[r.URL.Path]
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, response{Status: "refused", Error: "method not allowed; use " + allow})
	})
}
