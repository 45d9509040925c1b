package history

import (
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/trace"
)

func TestHeldAndDigestedFates(t *testing.T) {
	held := Fate{Stage: trace.StageSink, Outcome: trace.OutcomeHeld, Route: "all", Destination: "team", Kind: "issues.opened", Reason: "held until 2026-12-02T07:00:00Z (quiet hours of team)"}
	digested := Fate{Stage: trace.StageSink, Outcome: trace.OutcomeDigested, Route: "stars", Destination: "feed", Kind: "star.created", Reason: "collected into digest of route stars for feed (period 2026-12-01T08:00:00Z to 2026-12-02T08:00:00Z), posted at 2026-12-02T08:00:00Z"}
	if got := DescribeFate(held); got != "issues.opened held until 2026-12-02T07:00:00Z (quiet hours of team) (route all)" {
		t.Errorf("trace line %q", got)
	}
	if got := DescribeFate(digested); !strings.Contains(got, "collected into digest of route stars for feed") || !strings.Contains(got, "posted at 2026-12-02T08:00:00Z") {
		t.Errorf("trace line %q", got)
	}
	sum := Summarize(&View{Fates: []Fate{held, digested}})
	for _, want := range []string{"held until 2026-12-02T07:00:00Z", "posted at 2026-12-02T08:00:00Z"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
}
