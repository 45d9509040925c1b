package routes_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/shared/corpus"
)

const quietRoutes = `
destinations:
  team:
    webhook: "${HOOK}"
    quiet: {from: "19:00", to: "08:00", tz: Europe/Berlin, days: [sat, sun]}
  stars: {webhook: "${HOOK}"}
routes:
  - name: prod-failures
    match: {kind: workflow_run.completed}
    to: team
    urgent: true
  - name: star-digest
    match: {kind: [star.created, fork.created]}
    to: stars
    digest: {every: 24h, at: "09:00", tz: Europe/Berlin}
  - name: rest
    to: team
    urgent: {labels: [incident]}
`

func TestPlan(t *testing.T) {
	tb := mustParse(t, quietRoutes)
	tests := []struct {
		name, kind, at string
		labels         []string
		want           string
	}{
		{"weekday night is held", "issues.opened", "2026-12-01T21:00:00Z", nil, "hold:team until 2026-12-02T07:00:00Z"},
		{"weekday day is posted", "issues.opened", "2026-12-01T12:00:00Z", nil, "post:team"},
		{"saturday is held until monday", "issues.opened", "2026-12-05T12:00:00Z", nil, "hold:team until 2026-12-07T07:00:00Z"},
		{"urgent route bypasses", "workflow_run.completed", "2026-12-01T21:00:00Z", nil, "post:team"},
		{"urgent condition bypasses", "issues.opened", "2026-12-01T21:00:00Z", []string{"incident"}, "post:team"},
		{"digest collects", "star.created", "2026-12-01T12:00:00Z", nil, "collect:stars until 2026-12-02T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ev(tt.kind)
			e.Data.Target.Labels = tt.labels
			now, _ := time.Parse(time.RFC3339, tt.at)
			if got := planOutcome(tb, routes.NewFacts(e), now); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// planOutcome renders the plans of an event the way expect-at comments
// write them: "hold:dest until T", "collect:dest until T", "post:dest".
func planOutcome(tb *routes.Table, f *routes.Facts, now time.Time) string {
	var out []string
	for _, tg := range tb.Decide(f).Targets {
		p := tb.Plan(tg, f, now)
		s := p.Action.String() + ":" + tg.Destination.Name
		if p.Action != schedule.Post {
			s += " until " + p.Until.UTC().Format(time.RFC3339)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func TestScheduleLoadErrors(t *testing.T) {
	head := "destinations:\n  d: {webhook: \"${HOOK}\"}\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"quiet without tz", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {from: \"19:00\", to: \"08:00\"}\ndefault: d\n", []string{"test.yaml:4:", "quiet needs tz"}},
		{"quiet bad time", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {from: \"25:00\", to: \"08:00\", tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "from:", "not a time of day"}},
		{"quiet bad zone", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet:\n      from: \"19:00\"\n      to: \"08:00\"\n      tz: Mars/Olympus\n", []string{"test.yaml:7:", "unknown time zone"}},
		{"quiet bad day", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {days: [sat, caturday], tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "caturday"}},
		{"quiet only from", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {from: \"19:00\", tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "needs both from and to"}},
		{"quiet same times", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {from: \"19:00\", to: \"19:00\", tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "same time"}},
		{"quiet unknown key", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {form: \"19:00\", to: \"08:00\", tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "unknown key \"form\""}},
		{"quiet every day", "destinations:\n  d:\n    webhook: \"${HOOK}\"\n    quiet: {days: [mon, tue, wed, thu, fri, sat, sun], tz: UTC}\ndefault: d\n", []string{"test.yaml:4:", "nothing would ever be posted"}},
		{"digest without every", head + "routes:\n  - name: r\n    to: d\n    digest: {at: \"09:00\"}\n", []string{"test.yaml:6:", "needs every"}},
		{"digest bad every", head + "routes:\n  - name: r\n    to: d\n    digest: {every: 7h}\n", []string{"test.yaml:6:", "every must divide a day"}},
		{"digest unparsable every", head + "routes:\n  - name: r\n    to: d\n    digest: {every: daily}\n", []string{"test.yaml:6:", "every:"}},
		{"digest at on hourly", head + "routes:\n  - name: r\n    to: d\n    digest: {every: 1h, at: \"09:00\"}\n", []string{"test.yaml:6:", "at applies to a daily digest"}},
		{"digest and urgent", head + "routes:\n  - name: r\n    to: d\n    urgent: true\n    digest: {every: 1h}\n", []string{"test.yaml:6:", "choose one"}},
		{"quiet digest without quiet hours", head + "routes:\n  - name: r\n    to: d\n    digest: quiet\n", []string{"test.yaml:6:", "digest: quiet needs quiet hours"}},
		{"digest not quiet", head + "routes:\n  - name: r\n    to: d\n    digest: daily\n", []string{"test.yaml:6:", "must be quiet or a mapping"}},
		{"urgent not a bool", head + "routes:\n  - name: r\n    to: d\n    urgent: sometimes\n", []string{"test.yaml:6:", "urgent must be true, false or a condition"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routes.Parse("test.yaml", []byte(tc.src), routes.Options{Lookup: lookup(map[string]string{"HOOK": "https://hooks.example/a"}), Types: types("")})
			var le *routes.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a LoadError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

var expectAtRE = regexp.MustCompile(`<!-- expect-at (\S+) (.*?) => (.*?) -->`)

// TestRoutingDocScheduleExamples checks the expect-at comments of
// docs/routing.md: at an instant, an event is posted, held or collected.
func TestRoutingDocScheduleExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(corpus.RepoRoot(t), "docs", "routing.md"))
	if err != nil {
		t.Fatalf("reading docs/routing.md: %v", err)
	}
	text := string(doc)
	blocks := yamlBlockRE.FindAllStringSubmatchIndex(text, -1)
	checked := 0
	for i, b := range blocks {
		end := len(text)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		expects := expectAtRE.FindAllStringSubmatch(text[b[1]:end], -1)
		if len(expects) == 0 {
			continue
		}
		line := strings.Count(text[:b[0]], "\n") + 1
		tb, err := routes.Parse(fmt.Sprintf("docs/routing.md example on line %d", line), []byte(text[b[2]:b[3]]), docsOptions())
		if err != nil {
			t.Errorf("example on line %d: %v", line, err)
			continue
		}
		for _, x := range expects {
			now, err := time.Parse(time.RFC3339, x[1])
			if err != nil {
				t.Fatalf("example on line %d: %v", line, err)
			}
			if got := planOutcome(tb, routes.NewFacts(docEvent(t, x[2])), now); got != x[3] {
				t.Errorf("example on line %d: at %s %s => %s, want %s", line, x[1], x[2], got, x[3])
			}
			checked++
		}
	}
	if checked < 4 {
		t.Fatalf("checked %d expect-at comments in docs/routing.md, want the quiet hours and digest examples", checked)
	}
}

// FuzzParseSchedule parses routes files with quiet hours, urgent and
// digests, and plans an event at instants around daylight-saving changes:
// no file may panic or hang the planner.
func FuzzParseSchedule(f *testing.F) {
	f.Add([]byte(quietRoutes), int64(1774738800))
	f.Add([]byte("destinations:\n  d:\n    console: true\n    quiet: {days: [sun], tz: America/New_York}\nroutes:\n  - {name: r, to: d, digest: {every: 15m, tz: Asia/Kolkata}}\n"), int64(1793512800))
	f.Add([]byte("destinations:\n  d:\n    console: true\n    quiet: {from: \"02:30\", to: \"02:00\", tz: Australia/Lord_Howe}\ndefault: d\n"), int64(0))
	f.Fuzz(func(t *testing.T, src []byte, at int64) {
		tb, err := routes.Parse("f.yaml", src, routes.Options{Lookup: lookup(map[string]string{"HOOK": "https://h.example/x"}), Types: types("x")})
		if err != nil {
			return
		}
		now := time.Unix(at%(1<<34), 0)
		f := routes.NewFacts(ev("star.created"))
		for _, tg := range tb.Decide(f).Targets {
			p := tb.Plan(tg, f, now)
			if p.Action != schedule.Post && !p.Until.After(now) {
				t.Fatalf("plan %+v at %s: held until a time not after now", p, now)
			}
		}
	})
}
