package routes_test

import (
	"fmt"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/event"
)

var (
	yamlBlockRE = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	expectRE    = regexp.MustCompile(`<!-- expect (.*?) => (.*?) -->`)
)

func docsOptions() routes.Options {
	return routes.Options{
		Lookup: func(name string) (string, bool) { return "https://hooks.example/" + name, true },
		Types:  types("xoxb-docs"),
	}
}

// docEvent builds the event an expect comment describes.
func docEvent(t *testing.T, attrs string) *event.Event {
	e := ev("issues.opened")
	e.Data.Target.Draft = nil
	e.Data.Target.Labels = nil
	for _, kv := range strings.Fields(attrs) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "kind":
			e.Data.Kind = v
			e.Data.Event, _, _ = strings.Cut(v, ".")
		case "repo":
			owner, name, _ := strings.Cut(v, "/")
			e.Data.Repository = &event.Repository{Owner: owner, Name: name, FullName: v}
		case "actor":
			e.Data.Actor.Login = v
		case "bot":
			e.Data.Actor.Bot = v == "true"
		case "draft":
			e.Data.Target.Draft = boolp(v == "true")
		case "labels":
			e.Data.Target.Labels = strings.Split(v, ",")
		case "base":
			e.Data.Target.BaseBranch = v
		case "title":
			e.Data.Target.Title = strings.ReplaceAll(v, "_", " ")
		case "branch":
			e.Data.Details = orDetails(e.Data.Details)
			e.Data.Details.Ref = "refs/heads/" + v
		case "paths":
			e.Data.Details = orDetails(e.Data.Details)
			e.Data.Details.ChangedPaths = strings.Split(v, ",")
		default:
			t.Fatalf("unknown expect attribute %q", k)
		}
	}
	return e
}

func orDetails(d *event.Details) *event.Details {
	if d == nil {
		return &event.Details{}
	}
	return d
}

// outcome renders a decision the way expect comments write it.
func outcome(d routes.Decision) string {
	if len(d.Targets) == 0 {
		if len(d.Skips) == 1 {
			s := d.Skips[0]
			switch {
			case strings.HasPrefix(s.Reason, "dropped by route "):
				return "drop:" + s.Route
			case s.Destination != "":
				return "filtered:" + s.Destination
			}
		}
		return "none"
	}
	var names []string
	thread := false
	for _, tg := range d.Targets {
		names = append(names, tg.Destination.Name)
		thread = thread || tg.Thread
	}
	out := strings.Join(names, ",")
	if thread {
		out += " thread"
	}
	return out
}

// TestRoutingDocExamples loads every YAML example of docs/routing.md and
// checks the expect comments that follow it.
func TestRoutingDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(corpus.RepoRoot(t), "docs", "routing.md"))
	if err != nil {
		t.Fatalf("reading docs/routing.md: %v", err)
	}
	text := string(doc)
	blocks := yamlBlockRE.FindAllStringSubmatchIndex(text, -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d yaml examples in docs/routing.md", len(blocks))
	}
	for i, b := range blocks {
		src := text[b[2]:b[3]]
		end := len(text)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		line := strings.Count(text[:b[0]], "\n") + 1
		tb, err := routes.Parse(fmt.Sprintf("docs/routing.md example on line %d", line), []byte(src), docsOptions())
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		expects := expectRE.FindAllStringSubmatch(text[b[1]:end], -1)
		if len(expects) == 0 {
			t.Errorf("example on line %d has no expect comment", line)
		}
		for _, x := range expects {
			got := outcome(tb.Decide(routes.NewFacts(docEvent(t, x[1]))))
			if got != x[2] {
				t.Errorf("example on line %d: %s => %s, want %s", line, x[1], got, x[2])
			}
		}
	}
}

// TestExampleRoutesFile loads examples/routes.yaml.
func TestExampleRoutesFile(t *testing.T) {
	tb, err := routes.Load(filepath.Join(corpus.RepoRoot(t), "examples", "routes.yaml"), docsOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Routes) == 0 {
		t.Fatal("examples/routes.yaml has no routes")
	}
	if got := outcome(tb.Decide(routes.NewFacts(docEvent(t, "kind=pull_request.opened bot=true")))); got != "drop:bots" {
		t.Errorf("bot pull request => %s, want drop:bots", got)
	}
}
