package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
)

const routesUsage = `usage:
  ghnotify routes check FILE
      Validate a routes file; errors name file, line and column.
  ghnotify routes test --routes FILE --event NAME PAYLOAD.json
      Normalize a GitHub payload, show which routes match (and which
      condition failed for the others) and print what each destination
      would receive as JSON (Slack messages; the CloudEvent for http).
      Nothing is posted.
`

// runRoutes implements "ghnotify routes check" and "ghnotify routes test".
// lookup is the environment: it resolves ${NAME} in the routes file and
// SLACK_BOT_TOKEN.
func runRoutes(_ context.Context, args []string, stdout, stderr io.Writer, lookup config.Lookup) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, routesUsage)
		return errors.New("routes: missing subcommand (check or test)")
	}
	env := config.NewEnv(lookup)
	types := sink.DestinationTypes(sink.Config{BotToken: env.Secret("SLACK_BOT_TOKEN", "")})
	opts := routes.Options{Lookup: lookup, Types: types, Lenient: true}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprint(stderr, routesUsage)
			return errors.New("routes check: want exactly one FILE")
		}
		t, err := routes.Load(args[1], opts)
		if err != nil {
			return err
		}
		for _, w := range t.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		fmt.Fprintf(stdout, "%s: ok (%d destinations, %d routes)\n", args[1], len(t.Destinations), len(t.Routes))
		return nil
	case "test":
		return routesTest(args[1:], opts, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, routesUsage)
		return nil
	}
	fmt.Fprint(stderr, routesUsage)
	return fmt.Errorf("routes: unknown subcommand %q", args[0])
}

// routeTestReport is what "routes test" prints for one canonical event.
type routeTestReport struct {
	EventID  string                `json:"event_id"`
	Kind     string                `json:"kind"`
	Routes   []routes.Explanation  `json:"routes"`
	Targets  []routeTestTarget     `json:"targets"`
	Skips    []routes.Skip         `json:"skips,omitempty"`
	Messages map[string]rawMessage `json:"messages,omitempty"`
}

type routeTestTarget struct {
	Route       string `json:"route"`
	Destination string `json:"destination"`
	Thread      bool   `json:"thread,omitempty"`
}

type rawMessage = json.RawMessage

// previewer is a destination that can show what it would receive.
type previewer interface {
	Preview(ev *event.Event) ([]byte, error)
}

func routesTest(args []string, opts routes.Options, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("routes test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("routes", "", "routes file")
	name := fs.String("event", "", "GitHub event name (the X-GitHub-Event header), e.g. pull_request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *name == "" || fs.NArg() != 1 {
		fmt.Fprint(stderr, routesUsage)
		return errors.New("routes test: want --routes FILE --event NAME PAYLOAD.json")
	}
	t, err := routes.Load(*file, opts)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("reading payload: %w", err)
	}
	evs, err := normalize.Normalize(delivery.Delivery{Event: *name, ID: "routes-test", Body: payload, ReceivedAt: time.Now()})
	if err != nil {
		return fmt.Errorf("normalizing payload: %w", err)
	}
	var reports []routeTestReport
	for i := range evs {
		ev := &evs[i]
		f := routes.NewFacts(ev)
		d := t.Decide(f)
		r := routeTestReport{EventID: ev.ID, Kind: ev.Data.Kind, Routes: t.Explain(f), Skips: d.Skips, Messages: map[string]rawMessage{}}
		for _, tg := range d.Targets {
			r.Targets = append(r.Targets, routeTestTarget{Route: tg.Route, Destination: tg.Destination.Name, Thread: tg.Thread})
			if p, ok := tg.Destination.Endpoint.(previewer); ok {
				b, err := p.Preview(ev)
				if err != nil {
					return fmt.Errorf("rendering for %s: %w", tg.Destination.Name, err)
				}
				r.Messages[tg.Destination.Name] = b
			}
		}
		reports = append(reports, r)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(reports); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
