package history

import (
	"fmt"
	"sort"
	"time"
)

// Entry is one line of a delivery's timeline.
type Entry struct {
	At    time.Time `json:"at"`
	Stage string    `json:"stage"`
	What  string    `json:"what"`
}

// Timeline lists what happened to a delivery, oldest first: the raw
// messages stored (and replayed), its events, every stage's outcome, and
// the dead letters still waiting, as ghnotify trace prints them.
func Timeline(v *View) []Entry {
	var tl []Entry
	for _, r := range v.Raw {
		what := fmt.Sprintf("stored raw #%d on %s", r.Sequence, r.Subject)
		if r.HookID != "" {
			what += " (hook " + r.HookID + ")"
		}
		if r.Replay != "" {
			what = fmt.Sprintf("replayed raw #%d on %s (replay %s)", r.Sequence, r.Subject, r.Replay)
		}
		tl = append(tl, Entry{r.StoredAt, "gateway", what})
	}
	for _, ev := range v.Events {
		what := fmt.Sprintf("event #%d %s on %s", ev.Sequence, ev.EventID, ev.Subject)
		if ev.Replay != "" {
			what += " (replay " + ev.Replay
			if ev.ReplayTo != "" {
				what += ", to " + ev.ReplayTo
			}
			what += ")"
		}
		tl = append(tl, Entry{ev.StoredAt, "events", what})
	}
	for _, f := range v.Fates {
		tl = append(tl, Entry{f.At, f.Stage, DescribeFate(f)})
	}
	for _, l := range v.DeadLetters {
		what := fmt.Sprintf("dead letter #%d waiting (%s", l.Sequence, l.Stage)
		if l.Destination != "" {
			what += ", " + l.Destination
		}
		what += "): " + OneLine(l.Reason, 200) + fmt.Sprintf(`; redrive with "ghnotify dlq redrive %d"`, l.Sequence)
		tl = append(tl, Entry{l.Time, "dlq", what})
	}
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].At.Before(tl[j].At) })
	return tl
}
