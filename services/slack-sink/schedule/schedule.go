// Package schedule is the time logic of quiet hours and digests: whether
// an instant falls in a destination's quiet hours and when they end, and
// which digest period an instant belongs to and when that period is
// posted, in the time zone the routes file names, across midnight and
// daylight-saving changes. It is pure: no clock of its own, no I/O, no
// NATS; the sink stores what it holds in JetStream (see the sink's
// held.go).
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day, in minutes after midnight.
type Clock int

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, 00:00 to 23:59)", s)
	}
	return Clock(hh*60 + mm), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// on returns the instant of c on the local date of day, in loc. A time of
// day that does not exist that date (skipped by a daylight-saving change)
// is the first instant after the skip; one that exists twice is the
// earlier of the two.
func (c Clock) on(day time.Time, loc *time.Location) time.Time {
	return c.instants(day, loc)[0]
}

// instants returns every instant of c on the local date of day, earliest
// first: one, two when a daylight-saving change repeats c, and the end of
// the skip when it skips c.
func (c Clock) instants(day time.Time, loc *time.Location) []time.Time {
	y, mo, d := day.In(loc).Date()
	wall := time.Date(y, mo, d, int(c)/60, int(c)%60, 0, 0, time.UTC)
	wallOf := func(x time.Time) time.Time {
		l := x.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	offBefore := offsetAt(loc, wall.Add(-26*time.Hour))
	offAfter := offsetAt(loc, wall.Add(26*time.Hour))
	var out []time.Time
	for _, off := range []time.Duration{offBefore, offAfter} {
		if x := wall.Add(-off); wallOf(x).Equal(wall) && (len(out) == 0 || !x.Equal(out[0])) {
			out = append(out, x)
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	if len(out) > 0 {
		return out
	}
	// Skipped: find the first instant whose wall time is at or after c.
	lo, hi := wall.Add(-max(offBefore, offAfter)), wall.Add(-min(offBefore, offAfter))
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if wallOf(mid).Before(wall) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return []time.Time{hi}
}

func offsetAt(loc *time.Location, t time.Time) time.Duration {
	_, off := t.In(loc).Zone()
	return time.Duration(off) * time.Second
}

// midnight returns the start of t's local date.
func midnight(t time.Time, loc *time.Location) time.Time {
	return Clock(0).on(dateAfter(t, loc, 0), loc)
}

// nextDay returns the start of the local date after t's.
func nextDay(t time.Time, loc *time.Location) time.Time {
	return Clock(0).on(dateAfter(t, loc, 1), loc)
}

// LoadZone loads a time zone by its IANA name ("Europe/Berlin", "UTC").
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("a time zone is needed (tz: Europe/Berlin, UTC ...)")
	}
	if strings.EqualFold(name, "local") {
		return nil, errors.New("tz must name a zone (Europe/Berlin, UTC ...), not Local")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDay reads a weekday: sun, mon ... sat (or the full English name).
func ParseDay(s string) (time.Weekday, error) {
	if d, ok := dayNames[strings.ToLower(s)]; ok {
		return d, nil
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(d.String(), s) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a day (sun, mon, tue, wed, thu, fri, sat)", s)
}

// Quiet is a destination's quiet hours: every day from From to To (a
// window that may cross midnight), and all day on Days, in Loc.
type Quiet struct {
	// Window reports whether From and To are set.
	Window   bool
	From, To Clock
	Days     [7]bool
	Loc      *time.Location
}

// In reports whether t falls in the quiet hours.
func (q *Quiet) In(t time.Time) bool {
	if q == nil {
		return false
	}
	lt := t.In(q.Loc)
	if q.Days[lt.Weekday()] {
		return true
	}
	if !q.Window {
		return false
	}
	m := Clock(lt.Hour()*60 + lt.Minute())
	if q.From < q.To {
		return m >= q.From && m < q.To
	}
	return m >= q.From || m < q.To
}

// End returns when the quiet hours that t falls in end: the first instant
// after t that is not quiet. It reports false when t is not quiet, or
// when the quiet hours never end (every day listed).
func (q *Quiet) End(t time.Time) (time.Time, bool) {
	if !q.In(t) {
		return time.Time{}, false
	}
	cur := t
	// The quiet state changes only at midnight, at From and at To; eight
	// days of those cover every combination of days.
	for range 3 * 8 {
		next := q.nextBoundary(cur)
		if !q.In(next) {
			return next, true
		}
		cur = next
	}
	return time.Time{}, false
}

// nextBoundary is the first midnight, From or To after t.
func (q *Quiet) nextBoundary(t time.Time) time.Time {
	best := nextDay(t, q.Loc)
	if q.Window {
		for _, day := range []time.Time{t, best} {
			for _, c := range []Clock{q.From, q.To} {
				for _, b := range c.instants(day, q.Loc) {
					if b.After(t) && b.Before(best) {
						best = b
					}
				}
			}
		}
	}
	return best
}

// Digest is how often a route's digest is posted: every Every, aligned to
// local midnight in Loc, or, for a daily digest, at At. A QuietOnly
// digest collects only during its destination's quiet hours and is posted
// when they end; outside them events are posted at once.
type Digest struct {
	Every     time.Duration
	At        Clock
	Loc       *time.Location
	QuietOnly bool
}

// CheckEvery reports whether every is a digest period: a whole number of
// minutes dividing a day, or 24h.
func CheckEvery(every time.Duration) error {
	day := 24 * time.Hour
	if every < time.Minute || every > day || every%time.Minute != 0 || day%every != 0 {
		return fmt.Errorf("every must divide a day into whole minutes (15m, 1h, 6h, 24h ...); %s does not", every)
	}
	return nil
}

// Period returns the digest period t belongs to: it starts at or before t
// and ends, when the digest is posted, after t.
func (d *Digest) Period(t time.Time) (start, end time.Time) {
	if d.Every >= 24*time.Hour {
		// Daily at At: the last At at or before t to the next one after.
		end = d.At.on(t, d.Loc)
		if !end.After(t) {
			end = d.At.on(dateAfter(t, d.Loc, 1), d.Loc)
		}
		return d.At.on(dateAfter(end, d.Loc, -1), d.Loc), end
	}
	// Shorter periods count elapsed time from local midnight, so that
	// every period has its length even on a day of 23 or 25 hours; the
	// last one of the day ends at the next midnight.
	m := midnight(t, d.Loc)
	k := t.Sub(m) / d.Every
	start = m.Add(k * d.Every)
	end = start.Add(d.Every)
	if nd := nextDay(t, d.Loc); end.After(nd) {
		end = nd
	}
	return start, end
}

// dateAfter returns noon of the local date n days after t's.
func dateAfter(t time.Time, loc *time.Location, n int) time.Time {
	y, mo, d := t.In(loc).Date()
	return time.Date(y, mo, d+n, 12, 0, 0, 0, loc)
}

// Action is what happens to an event routed to a destination.
type Action int

// Actions.
const (
	// Post now.
	Post Action = iota
	// Hold until the destination's quiet hours end, then post.
	Hold
	// Collect into a digest posted at the end of its period.
	Collect
)

func (a Action) String() string {
	switch a {
	case Hold:
		return "hold"
	case Collect:
		return "collect"
	}
	return "post"
}

// Plan is what happens to an event routed to a destination, decided at
// one instant.
type Plan struct {
	Action Action
	// Until is when a held event or a digest is posted.
	Until time.Time
	// Start and End bound the digest period (Collect only); Until is End,
	// or the end of the quiet hours End falls in.
	Start, End time.Time
	// Why says what decided it, for traces and routes test.
	Why string
}

// Decide plans an event at now for a destination with quiet hours q (nil:
// none) through a route with digest d (nil: none); urgent events bypass
// quiet hours (and a QuietOnly digest).
func Decide(now time.Time, q *Quiet, d *Digest, urgent bool) Plan {
	if d != nil && d.QuietOnly {
		if urgent {
			return Plan{Action: Post, Why: "urgent"}
		}
		if e, ok := q.End(now); ok {
			return Plan{Action: Collect, End: e, Until: e, Why: "digest of the quiet hours"}
		}
		return Plan{Action: Post}
	}
	if d != nil {
		start, end := d.Period(now)
		p := Plan{Action: Collect, Start: start, End: end, Until: end, Why: "digest"}
		if e, ok := q.End(end); ok {
			p.Until, p.Why = e, "digest, posted when the quiet hours it falls in end"
		}
		return p
	}
	if urgent {
		return Plan{Action: Post, Why: "urgent"}
	}
	if e, ok := q.End(now); ok {
		return Plan{Action: Hold, Until: e, Why: "quiet hours"}
	}
	return Plan{Action: Post}
}
