package history

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ghnotify/ghnotify/shared/trace"
)

// Summarize says in one line what became of a delivery.
func Summarize(v *View) string {
	var parts []string
	group := func(outcome, label string, withReason bool) {
		var items []string
		for _, f := range v.Fates {
			if f.Stage != trace.StageSink || f.Outcome != outcome || f.Replay != "" {
				continue
			}
			it := f.Destination
			if it == "" {
				it = OrDash(f.Route)
			}
			if withReason && f.Reason != "" {
				it += " (" + OneLine(f.Reason, 60) + ")"
			}
			if !slices.Contains(items, it) {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			parts = append(parts, label+" "+strings.Join(items, ", "))
		}
	}
	group(trace.OutcomePosted, "posted to", false)
	var reposted []string
	for _, f := range v.Fates {
		if f.Stage == trace.StageSink && f.Outcome == trace.OutcomePosted && f.Replay != "" && !slices.Contains(reposted, f.Destination) {
			reposted = append(reposted, f.Destination)
		}
	}
	if len(reposted) > 0 {
		parts = append(parts, "replay posted to "+strings.Join(reposted, ", "))
	}
	for _, f := range v.Fates {
		// Held and digested events say until when ("held until ...",
		// "collected into digest ... posted at ...").
		if f.Stage == trace.StageSink && (f.Outcome == trace.OutcomeHeld || f.Outcome == trace.OutcomeDigested) && f.Replay == "" {
			parts = append(parts, OneLine(f.Reason, 160))
		}
	}
	group(trace.OutcomeSkipped, "skipped", true)
	group(trace.OutcomeFailed, "failed", true)
	group(trace.OutcomeDeadLettered, "dead-lettered", true)
	sinkSeen, normalized := false, false
	replays := map[string]bool{}
	for _, f := range v.Fates {
		switch {
		case f.Replay != "":
			replays[f.Replay] = true
		case f.Stage == trace.StageSink:
			sinkSeen = true
		case f.Stage == trace.StageNormalizer && f.Outcome == trace.OutcomeNormalized:
			normalized = true
		case f.Stage == trace.StageNormalizer && f.Outcome == trace.OutcomeDeadLettered:
			parts = append(parts, "dead-lettered by the normalizer ("+OneLine(f.Reason, 60)+")")
		case f.Stage == trace.StageGateway && f.Outcome == trace.OutcomeDuplicate:
			parts = append(parts, "a duplicate was refused")
		}
	}
	if len(v.AtSink) > 0 {
		parts = append(parts, fmt.Sprintf("at the sink, waiting or retrying (%d event(s))", len(v.AtSink)))
	}
	if !sinkSeen && normalized && len(v.AtSink) == 0 {
		if len(v.Kinds) == 0 {
			parts = append(parts, "normalized into no event")
		} else {
			parts = append(parts, "normalized, waiting for the sink")
		}
	}
	if len(parts) == 0 && len(v.Raw) > 0 {
		parts = append(parts, "stored, waiting for the normalizer")
	}
	if n := len(v.DeadLetters); n > 0 {
		parts = append(parts, fmt.Sprintf("%d dead letter(s) waiting", n))
	}
	if n := len(replays); n > 0 {
		parts = append(parts, fmt.Sprintf("replayed %d time(s)", n))
	}
	return strings.Join(parts, "; ")
}

// DescribeFate says what one trace record means, in a line.
func DescribeFate(f Fate) string {
	if f.Outcome == trace.OutcomeHeld || f.Outcome == trace.OutcomeDigested {
		// The sink's reason says it all: "held until ...", "collected into
		// digest ... posted at ...".
		line := OneLine(f.Reason, 200)
		if f.Kind != "" {
			line = f.Kind + " " + line
		}
		if f.Route != "" {
			line += " (route " + f.Route + ")"
		}
		return line
	}
	var b strings.Builder
	switch f.Outcome {
	case trace.OutcomeNormalized:
		b.WriteString("normalized")
	case trace.OutcomeDuplicate:
		b.WriteString("duplicate delivery, not stored again")
	default:
		b.WriteString(strings.ReplaceAll(f.Outcome, "_", "-"))
	}
	if f.Kind != "" {
		b.WriteString(" " + f.Kind)
	}
	if f.Destination != "" {
		switch f.Outcome {
		case trace.OutcomePosted:
			b.WriteString(" to " + f.Destination)
		default:
			b.WriteString(" for " + f.Destination)
		}
	}
	var extra []string
	if f.Route != "" {
		extra = append(extra, "route "+f.Route)
	}
	if f.SlackTS != "" {
		extra = append(extra, "slack ts "+f.SlackTS)
	}
	if f.Replay != "" {
		extra = append(extra, "replay "+f.Replay)
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	if f.Reason != "" {
		b.WriteString(": " + OneLine(f.Reason, 200))
	}
	return b.String()
}

// OrDash returns s, or "-" when it is empty.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// OneLine squeezes s onto one line of at most n runes.
func OneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
