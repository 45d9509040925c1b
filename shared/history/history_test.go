package history

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/trace"
)

func TestStatusesSummaryAndTimeline(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		view     View
		floor    uint64
		statuses []string
		summary  string
		timeline []string
	}{
		{
			name:     "stored only",
			view:     View{DeliveryID: "d1", Raw: []RawCopy{{Sequence: 1, Subject: "github.raw.issues", StoredAt: at, HookID: "7"}}},
			statuses: []string{StatusStored},
			summary:  "stored, waiting for the normalizer",
			timeline: []string{"gateway stored raw #1 on github.raw.issues (hook 7)"},
		},
		{
			name: "posted, skipped and dead-lettered",
			view: View{DeliveryID: "d2", Kinds: []string{"issues.opened"},
				Raw:    []RawCopy{{Sequence: 2, Subject: "github.raw.issues", StoredAt: at}},
				Events: []EventCopy{{Sequence: 5, EventID: "d2/issues.opened", Kind: "issues.opened", Subject: "github.event.a.b.issues.opened", StoredAt: at.Add(time.Millisecond)}},
				Fates: []Fate{
					{Stage: trace.StageSink, Outcome: trace.OutcomeDeadLettered, Kind: "issues.opened", Destination: "gone", Reason: "404 channel_not_found", At: at.Add(4 * time.Millisecond)},
					{Stage: trace.StageNormalizer, Outcome: trace.OutcomeNormalized, At: at.Add(2 * time.Millisecond)},
					{Stage: trace.StageSink, Outcome: trace.OutcomePosted, Kind: "issues.opened", Destination: "slack", Route: "core", SlackTS: "1.2", At: at.Add(3 * time.Millisecond)},
					{Stage: trace.StageSink, Outcome: trace.OutcomeSkipped, Kind: "issues.opened", Destination: "quiet", Reason: "destination quiet filtered the event", At: at.Add(3 * time.Millisecond)},
				},
				DeadLetters: []deadletter.Info{{Sequence: 9, Stage: trace.StageSink, Destination: "gone", Reason: "404 channel_not_found", Time: at.Add(5 * time.Millisecond)}},
			},
			floor:    5,
			statuses: []string{StatusStored, StatusNormalized, StatusPosted, StatusSkipped, StatusDeadLettered},
			summary:  "posted to slack; skipped quiet (destination quiet filtered the event); dead-lettered gone (404 channel_not_found); 1 dead letter(s) waiting",
			timeline: []string{
				"gateway stored raw #2 on github.raw.issues",
				"events event #5 d2/issues.opened on github.event.a.b.issues.opened",
				"normalizer normalized",
				"slack-sink posted issues.opened to slack (route core, slack ts 1.2)",
				"slack-sink skipped issues.opened for quiet: destination quiet filtered the event",
				"slack-sink dead-lettered issues.opened for gone: 404 channel_not_found",
				`dlq dead letter #9 waiting (slack-sink, gone): 404 channel_not_found; redrive with "ghnotify dlq redrive 9"`,
			},
		},
		{
			name: "at the sink",
			view: View{DeliveryID: "d3", Kinds: []string{"push.pushed"},
				Raw:    []RawCopy{{Sequence: 3, Subject: "github.raw.push", StoredAt: at}},
				Events: []EventCopy{{Sequence: 8, EventID: "d3/push.pushed", Kind: "push.pushed", Subject: "github.event.a.b.push.pushed", StoredAt: at}},
				Fates:  []Fate{{Stage: trace.StageNormalizer, Outcome: trace.OutcomeNormalized, At: at}},
			},
			floor:    7,
			statuses: []string{StatusStored, StatusNormalized, StatusRetrying},
			summary:  "at the sink, waiting or retrying (1 event(s))",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.view
			v.MarkAtSink(c.floor)
			v.Finish()
			if !slices.Equal(v.Statuses, c.statuses) {
				t.Errorf("statuses %v, want %v", v.Statuses, c.statuses)
			}
			if got := Summarize(&v); got != c.summary {
				t.Errorf("summary\n got %q\nwant %q", got, c.summary)
			}
			if c.timeline == nil {
				return
			}
			var got []string
			for _, e := range Timeline(&v) {
				got = append(got, e.Stage+" "+e.What)
			}
			if strings.Join(got, "\n") != strings.Join(c.timeline, "\n") {
				t.Errorf("timeline\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(c.timeline, "\n"))
			}
		})
	}
}
