package schedule

import (
	"testing"
	"time"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func clock(s string) Clock {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func TestQuietEnd(t *testing.T) {
	berlin, ny := zone(t, "Europe/Berlin"), zone(t, "America/New_York")
	night := func(loc *time.Location, from, to string, days ...time.Weekday) *Quiet {
		q := &Quiet{Window: from != "", Loc: loc}
		if from != "" {
			q.From, q.To = clock(from), clock(to)
		}
		for _, d := range days {
			q.Days[d] = true
		}
		return q
	}
	tests := []struct {
		name string
		q    *Quiet
		at   string
		// end is "" when at is not quiet.
		end string
	}{
		{"evening, crossing midnight", night(berlin, "19:00", "08:00"), "2026-12-01T21:00:00Z", "2026-12-02T07:00:00Z"},
		{"after midnight", night(berlin, "19:00", "08:00"), "2026-12-02T03:00:00Z", "2026-12-02T07:00:00Z"},
		{"one minute before the end", night(berlin, "19:00", "08:00"), "2026-12-02T06:59:00Z", "2026-12-02T07:00:00Z"},
		{"at the end", night(berlin, "19:00", "08:00"), "2026-12-02T07:00:00Z", ""},
		{"just before the start", night(berlin, "19:00", "08:00"), "2026-12-01T17:59:59Z", ""},
		{"at the start", night(berlin, "19:00", "08:00"), "2026-12-01T18:00:00Z", "2026-12-02T07:00:00Z"},
		{"window within a day", night(berlin, "12:00", "13:30"), "2026-12-01T11:15:00Z", "2026-12-01T12:30:00Z"},
		{"friday night runs through the weekend", night(berlin, "19:00", "08:00", time.Saturday, time.Sunday), "2026-12-04T20:00:00Z", "2026-12-07T07:00:00Z"},
		{"saturday noon", night(berlin, "19:00", "08:00", time.Saturday, time.Sunday), "2026-12-05T11:00:00Z", "2026-12-07T07:00:00Z"},
		{"days only", night(berlin, "", "", time.Sunday), "2026-12-06T22:00:00Z", "2026-12-06T23:00:00Z"},
		// Berlin springs forward on 2026-03-29 at 02:00 CET (01:00Z).
		{"berlin spring forward: the night is an hour shorter", night(berlin, "22:00", "08:00"), "2026-03-28T22:00:00Z", "2026-03-29T06:00:00Z"},
		{"berlin spring forward: an end in the skipped hour", night(berlin, "01:00", "02:30"), "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"},
		// Berlin falls back on 2026-10-25 at 03:00 CEST (01:00Z).
		{"berlin fall back: the night is an hour longer", night(berlin, "22:00", "08:00"), "2026-10-24T21:00:00Z", "2026-10-25T07:00:00Z"},
		// New York springs forward on 2026-03-08 at 02:00 EST (07:00Z).
		{"new york spring forward", night(ny, "20:00", "07:00"), "2026-03-08T02:00:00Z", "2026-03-08T11:00:00Z"},
		{"new york: a start in the skipped hour", night(ny, "02:30", "06:00"), "2026-03-08T07:00:00Z", "2026-03-08T10:00:00Z"},
		// New York falls back on 2026-11-01 at 02:00 EDT (06:00Z): 01:00-02:00 happens twice.
		{"new york fall back: first 01:15 ends at the first 01:30", night(ny, "00:00", "01:30"), "2026-11-01T05:15:00Z", "2026-11-01T05:30:00Z"},
		{"new york fall back: second 01:15 ends at the second 01:30", night(ny, "00:00", "01:30"), "2026-11-01T06:15:00Z", "2026-11-01T06:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, ok := tt.q.End(utc(tt.at))
			if tt.end == "" {
				if ok || tt.q.In(utc(tt.at)) {
					t.Fatalf("%s is quiet (end %s), want not", tt.at, end)
				}
				return
			}
			if !ok || !end.Equal(utc(tt.end)) {
				t.Fatalf("End(%s) = %s, %t; want %s", tt.at, end.UTC().Format(time.RFC3339), ok, tt.end)
			}
		})
	}
}

func TestQuietEveryDayNeverEnds(t *testing.T) {
	q := &Quiet{Loc: time.UTC}
	for d := range q.Days {
		q.Days[d] = true
	}
	if end, ok := q.End(utc("2026-12-01T00:00:00Z")); ok {
		t.Fatalf("End = %s, want none", end)
	}
}

func TestDigestPeriod(t *testing.T) {
	berlin, ny := zone(t, "Europe/Berlin"), zone(t, "America/New_York")
	tests := []struct {
		name       string
		d          Digest
		at         string
		start, end string
	}{
		{"daily at 09:00", Digest{Every: 24 * time.Hour, At: clock("09:00"), Loc: berlin}, "2026-12-01T10:00:00Z", "2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"},
		{"daily, before 09:00", Digest{Every: 24 * time.Hour, At: clock("09:00"), Loc: berlin}, "2026-12-01T07:59:00Z", "2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z"},
		{"daily, at 09:00 starts the next", Digest{Every: 24 * time.Hour, At: clock("09:00"), Loc: berlin}, "2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"},
		{"daily across berlin spring forward: 23 hours", Digest{Every: 24 * time.Hour, At: clock("09:00"), Loc: berlin}, "2026-03-28T12:00:00Z", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		{"daily across new york fall back: 25 hours", Digest{Every: 24 * time.Hour, At: clock("09:00"), Loc: ny}, "2026-10-31T20:00:00Z", "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"},
		{"daily at midnight across new york fall back", Digest{Every: 24 * time.Hour, Loc: ny}, "2026-11-01T12:00:00Z", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"},
		{"hourly", Digest{Every: time.Hour, Loc: berlin}, "2026-12-01T10:59:59Z", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"},
		{"hourly, first 01:30 of new york fall back", Digest{Every: time.Hour, Loc: ny}, "2026-11-01T05:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z"},
		{"hourly, second 01:30 of new york fall back", Digest{Every: time.Hour, Loc: ny}, "2026-11-01T06:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"},
		{"every 6h: the last period ends at midnight on a 23-hour day", Digest{Every: 6 * time.Hour, Loc: berlin}, "2026-03-29T21:00:00Z", "2026-03-29T17:00:00Z", "2026-03-29T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := tt.d.Period(utc(tt.at))
			if !start.Equal(utc(tt.start)) || !end.Equal(utc(tt.end)) {
				t.Fatalf("Period(%s) = %s .. %s; want %s .. %s", tt.at, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), tt.start, tt.end)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	q := &Quiet{Window: true, From: clock("19:00"), To: clock("08:00"), Loc: berlin}
	daily := &Digest{Every: 24 * time.Hour, At: clock("21:00"), Loc: berlin}
	hourly := &Digest{Every: time.Hour, Loc: berlin}
	night, day := utc("2026-12-01T22:00:00Z"), utc("2026-12-01T12:00:00Z")
	tests := []struct {
		name   string
		now    time.Time
		q      *Quiet
		d      *Digest
		urgent bool
		action Action
		until  string
	}{
		{"no quiet hours", night, nil, nil, false, Post, ""},
		{"outside quiet hours", day, q, nil, false, Post, ""},
		{"inside quiet hours", night, q, nil, false, Hold, "2026-12-02T07:00:00Z"},
		{"urgent inside quiet hours", night, q, nil, true, Post, ""},
		{"digest outside quiet hours", day, q, hourly, false, Collect, "2026-12-01T13:00:00Z"},
		{"digest due in quiet hours waits for their end", day, q, daily, false, Collect, "2026-12-02T07:00:00Z"},
		{"quiet-hours digest in quiet hours", night, q, &Digest{QuietOnly: true}, false, Collect, "2026-12-02T07:00:00Z"},
		{"quiet-hours digest outside them", day, q, &Digest{QuietOnly: true}, false, Post, ""},
		{"quiet-hours digest, urgent", night, q, &Digest{QuietOnly: true}, true, Post, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(tt.now, tt.q, tt.d, tt.urgent)
			if p.Action != tt.action {
				t.Fatalf("action %s, want %s", p.Action, tt.action)
			}
			if tt.until != "" && !p.Until.Equal(utc(tt.until)) {
				t.Fatalf("until %s, want %s", p.Until.UTC().Format(time.RFC3339), tt.until)
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	for _, ok := range []string{"00:00", "8:05", "23:59"} {
		if _, err := ParseClock(ok); err != nil {
			t.Errorf("ParseClock(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "24:00", "12:60", "1200", "12:5", "ab:cd", "-1:00", "12:00:00"} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) succeeded", bad)
		}
	}
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"19:00", "8:00", "24:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClock(s)
		if err != nil {
			return
		}
		if c < 0 || c >= 24*60 {
			t.Fatalf("ParseClock(%q) = %d", s, c)
		}
		if back, err := ParseClock(c.String()); err != nil || back != c {
			t.Fatalf("round trip of %q: %v %v", s, back, err)
		}
	})
}

func TestParseDay(t *testing.T) {
	for s, want := range map[string]time.Weekday{"sat": time.Saturday, "Sun": time.Sunday, "monday": time.Monday, "FRIDAY": time.Friday} {
		if d, err := ParseDay(s); err != nil || d != want {
			t.Errorf("ParseDay(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
	for _, bad := range []string{"", "sa", "caturday", "weekend"} {
		if _, err := ParseDay(bad); err == nil {
			t.Errorf("ParseDay(%q) succeeded", bad)
		}
	}
}
