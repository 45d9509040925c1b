package gateway

import (
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Defaults of refusal log sampling.
const (
	refusalLogBurst    = 5
	refusalLogInterval = 10 * time.Second
)

// refusalSampler keeps refused requests from flooding the log: of each
// refusal reason, the first burst refusals of an interval are logged in
// full, the others only counted; once the interval is over, one summary
// line per reason gives the count of those not logged. The refusals
// counter metric keeps the exact numbers.
type refusalSampler struct {
	now      func() time.Time
	interval time.Duration
	burst    int
	log      zerolog.Logger

	mu      sync.Mutex
	windows map[string]*refusalWindow
}

// refusalWindow is one reason's current interval.
type refusalWindow struct {
	start      time.Time
	logged     int
	suppressed int64
}

func newRefusalSampler(log zerolog.Logger, now func() time.Time, burst int, interval time.Duration) *refusalSampler {
	if now == nil {
		now = time.Now
	}
	return &refusalSampler{now: now, interval: interval, burst: burst, log: log, windows: map[string]*refusalWindow{}}
}

// allow reports whether a refusal for reason is logged in full; when it
// is not, it is counted for the reason's summary line. A refusal arriving
// after its reason's interval ended first writes that interval's summary.
func (s *refusalSampler) allow(reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	w := s.windows[reason]
	if w == nil || now.Sub(w.start) >= s.interval {
		if w != nil {
			s.summarise(reason, w)
		}
		w = &refusalWindow{start: now}
		s.windows[reason] = w
	}
	if w.logged < s.burst {
		w.logged++
		return true
	}
	w.suppressed++
	return false
}

// flush writes the summary of every interval that has ended; Run calls it
// on a ticker and at shutdown (with all set, to write every pending count).
func (s *refusalSampler) flush(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for reason, w := range s.windows {
		if all || now.Sub(w.start) >= s.interval {
			s.summarise(reason, w)
			delete(s.windows, reason)
		}
	}
}

// summarise writes the summary line of w, if it held refusals not logged.
func (s *refusalSampler) summarise(reason string, w *refusalWindow) {
	if w.suppressed == 0 {
		return
	}
	s.log.Warn().Str("reason", reason).Int64("not_logged", w.suppressed).Int("logged", w.logged).
		Time("since", w.start).Dur("interval", s.interval).
		Msg("more requests refused than logged; ghnotify_gateway_refusals_total counts them all")
	w.suppressed = 0
}

// logSafe makes an unvalidated header value fit for a log line: at most
// maxHeaderValue bytes, with control characters, bidirectional and other
// invisible formatting characters, and invalid UTF-8 replaced by '?', so
// that a value can neither forge log lines nor hide or reorder text on a
// terminal.
func logSafe(s string) string {
	if len(s) > maxHeaderValue {
		cut := maxHeaderValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if printableASCII(s) { // what GitHub sends: nothing to replace
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Bidi_Control, r) ||
			r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
}

// printableASCII reports whether s is made only of ' ' to '~'.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
