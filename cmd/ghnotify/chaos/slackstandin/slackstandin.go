// Package slackstandin is a Slack incoming webhook for tests: it records
// every request it receives, answers 200 "ok" as Slack does, and on demand
// answers a burst of 429s (with Retry-After) or 503s, or 503 to everything
// for a while, as Slack does under rate limiting or an outage.
package slackstandin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Request is one request the stand-in received and what it answered.
type Request struct {
	// Seq numbers requests in the order they arrived, from 1.
	Seq int
	// At is when the answer was decided.
	At time.Time
	// Body is the request body as sent.
	Body []byte
	// Status is the HTTP status answered.
	Status int
}

// Posted reports whether Slack would have shown the message: it answered 200.
func (r Request) Posted() bool { return r.Status == http.StatusOK }

// burst is a run of answers other than 200.
type burst struct {
	status     int
	left       int
	retryAfter time.Duration
}

// Server is the stand-in. Create it with Start; it stops when Close is called.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	bursts   []burst
	down     bool
}

// Start serves the stand-in on 127.0.0.1 at a free port.
func Start() *Server {
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the webhook URL to give the Slack sink.
func (s *Server) URL() string { return s.srv.URL + "/services/T000/B000/standin" }

// Close stops serving.
func (s *Server) Close() { s.srv.Close() }

// RateLimit makes the next n requests answer 429 with Retry-After (whole
// seconds, at least 1), after any burst already queued.
func (s *Server) RateLimit(n int, retryAfter time.Duration) {
	s.queue(burst{status: http.StatusTooManyRequests, left: n, retryAfter: retryAfter})
}

// Unavailable makes the next n requests answer 503, after any burst
// already queued.
func (s *Server) Unavailable(n int) {
	s.queue(burst{status: http.StatusServiceUnavailable, left: n})
}

// SetDown starts (true) or ends (false) an outage: while it lasts every
// request is answered 503, before any queued burst.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *Server) queue(b burst) {
	if b.left <= 0 {
		return
	}
	s.mu.Lock()
	s.bursts = append(s.bursts, b)
	s.mu.Unlock()
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// BurstsPending reports how many non-200 answers are still queued.
func (s *Server) BurstsPending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.bursts {
		n += b.left
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		// A request Slack could not read is not a post.
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	status, retryAfter := http.StatusOK, time.Duration(0)
	if s.down {
		status = http.StatusServiceUnavailable
	} else if len(s.bursts) > 0 {
		b := &s.bursts[0]
		status, retryAfter = b.status, b.retryAfter
		if b.left--; b.left == 0 {
			s.bursts = s.bursts[1:]
		}
	}
	s.requests = append(s.requests, Request{Seq: len(s.requests) + 1, At: time.Now(), Body: body, Status: status})
	s.mu.Unlock()

	switch status {
	case http.StatusOK:
		io.WriteString(w, "ok")
	case http.StatusTooManyRequests:
		secs := max(int((retryAfter+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		http.Error(w, "rate_limited", status)
	default:
		http.Error(w, "service_unavailable", status)
	}
}
