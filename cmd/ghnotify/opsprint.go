package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine squeezes s onto one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// progress writes a progress line to w at most once a second during a long
// operation, and a last one at the end when it wrote any.
type progress struct {
	w     io.Writer
	total int
	verb  string
	start time.Time
	last  time.Time
	wrote bool
}

// progressAfter is how long an operation runs before it reports progress.
const progressAfter = time.Second

func newProgress(w io.Writer, total int, verb string) *progress {
	now := time.Now()
	return &progress{w: w, total: total, verb: verb, start: now, last: now}
}

// step reports that done items are finished.
func (p *progress) step(done int) {
	now := time.Now()
	if now.Sub(p.last) < progressAfter {
		return
	}
	p.last, p.wrote = now, true
	fmt.Fprintf(p.w, "%s %d/%d (%s)\n", p.verb, done, p.total, now.Sub(p.start).Round(time.Second))
}

// finish writes the last line when progress was shown.
func (p *progress) finish(done int) {
	if p.wrote {
		fmt.Fprintf(p.w, "%s %d/%d, done\n", p.verb, done, p.total)
	}
}
