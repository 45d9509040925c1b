package main

import (
	"encoding/json"
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
	"github.com/spf13/cobra"
)

// newRoutesCommand is `ghnotify routes check` and `ghnotify routes test`.
// The environment resolves ${NAME} in the routes file and SLACK_BOT_TOKEN.
func newRoutesCommand(e cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "Check a routes file, or show where a payload would be posted",
		Example: `  ghnotify routes check examples/routes.yaml
  ghnotify routes test --routes examples/routes.yaml examples/issues-opened.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageError{"routes: missing subcommand (check or test)"}
		},
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a routes file; errors name file, line and column",
		Args:  exactArgs(1, "exactly one routes FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			return routesCheck(args[0], routesOptions(e.lookup), e.stdout, e.stderr)
		},
	}
	var file, name, at string
	test := &cobra.Command{
		Use:   "test [--routes FILE] [--event NAME] PAYLOAD.json",
		Short: "Show which routes a payload matches and the messages it would post",
		Long: `Normalizes a GitHub payload, shows which routes match (and which condition
failed for the others) and prints the Slack messages as JSON. Nothing is posted.

Without --routes it previews the routing "ghnotify run" would use: the file in
GHNOTIFY_ROUTES, else the default route to SLACK_WEBHOOK_URL, else the console.
Without --event the event is taken from the file name, as "ghnotify send" does
(examples/issues-opened.json is an issues event).

Each target says when it would be posted: now, "held until" the end of its
destination's quiet hours, or "collected into digest" and when that digest is
posted, as of --at (an RFC 3339 time; default: now).`,
		Example: `  ghnotify routes test --routes examples/routes.yaml examples/issues-opened.json
  ghnotify routes test --event pull_request payload.json`,
		Args: exactArgs(1, "exactly one PAYLOAD file"),
		RunE: func(_ *cobra.Command, args []string) error {
			when := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageError{fmt.Sprintf("--at %q is not an RFC 3339 time (2026-12-01T21:00:00Z, 2026-12-01T22:00:00+01:00)", at)}
				}
				when = t
			}
			return routesTest(file, name, args[0], e.lookup, e.stdout, when)
		},
	}
	test.Flags().StringVar(&file, "routes", "", "routes file (default: GHNOTIFY_ROUTES, else the default routing)")
	test.Flags().StringVar(&name, "event", "", "GitHub event name (the X-GitHub-Event header), e.g. pull_request; default: from the file name")
	test.Flags().StringVar(&at, "at", "", "time to plan quiet hours and digests at, RFC 3339 (default: now)")
	cmd.AddCommand(check, test)
	return cmd
}

// routesOptions are the load options of the routes commands: lenient, so a
// file whose ${NAME} are not set here is still checked.
func routesOptions(lookup config.Lookup) routes.Options {
	env := config.NewEnv(lookup)
	types := sink.DestinationTypes(sink.Config{BotToken: env.Secret("SLACK_BOT_TOKEN", "")})
	return routes.Options{Lookup: lookup, Types: types, Lenient: true}
}

// routesCheck validates a routes file.
func routesCheck(file string, opts routes.Options, stdout, stderr io.Writer) error {
	t, err := routes.Load(file, opts)
	if err != nil {
		return err
	}
	for _, w := range t.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	for _, w := range unknownKindWarnings(file) {
		fmt.Fprintln(stderr, "warning:", w)
	}
	people := ""
	if p := t.People; p != nil {
		// Every Slack ID in people and in routes' mention lists has been
		// checked for its form (U…/W… members, S… user groups) by Load.
		people = fmt.Sprintf(", people: %d users, %d teams, %d groups", len(p.Users), len(p.Teams), len(p.Groups))
	}
	fmt.Fprintf(stdout, "%s: ok (%d destinations, %d routes%s)\n", file, len(t.Destinations), len(t.Routes), people)
	return nil
}

// routeTestReport is what "routes test" prints for one canonical event.
type routeTestReport struct {
	EventID  string                `json:"event_id"`
	Kind     string                `json:"kind"`
	Routes   []routes.Explanation  `json:"routes"`
	Targets  []routeTestTarget     `json:"targets"`
	Skips    []routeTestSkip       `json:"skips,omitempty"`
	Messages map[string]rawMessage `json:"messages,omitempty"`
}

type routeTestTarget struct {
	Route       string `json:"route"`
	Destination string `json:"destination"`
	Thread      bool   `json:"thread,omitempty"`
	// When says when the event would be posted: "posted now", "held until
	// ..." (quiet hours) or "collected into digest ... posted at ...".
	When string `json:"when"`
	// Until is when a held event or its digest is posted.
	Until *time.Time `json:"until,omitempty"`
}

type rawMessage = json.RawMessage

// previewer is a destination that can show what it would receive.
type previewer interface {
	Preview(ev *event.Event) ([]byte, error)
}

// mentionPreviewer is a destination whose messages mention the people
// of the route's mentions.
type mentionPreviewer interface {
	PreviewWith(ev *event.Event, m routes.Mentions) ([]byte, error)
}

// routeTestSkip is a skipped destination in the report.
type routeTestSkip struct {
	Route       string `json:"route,omitempty"`
	Destination string `json:"destination,omitempty"`
	Reason      string `json:"reason"`
}

// routesTest prints the routing report of one payload.
func routesTest(file, name, payloadFile string, lookup config.Lookup, stdout io.Writer, now time.Time) error {
	if name == "" {
		name = eventFromFileName(payloadFile)
	}
	if name == "" {
		return usageError{"cannot tell the event from the file name; pass --event, e.g. --event issues"}
	}
	t, err := previewTable(file, lookup)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(payloadFile)
	if err != nil {
		return fmt.Errorf("reading payload: %w", err)
	}
	evs, err := normalize.Normalize(delivery.Delivery{Event: name, ID: "routes-test", Body: payload, ReceivedAt: time.Now()})
	if err != nil {
		return fmt.Errorf("normalizing payload: %w", err)
	}
	var reports []routeTestReport
	for i := range evs {
		ev := &evs[i]
		f := routes.NewFacts(ev)
		d := t.Decide(f)
		r := routeTestReport{EventID: ev.ID, Kind: ev.Data.Kind, Routes: t.Explain(f), Messages: map[string]rawMessage{}}
		for _, sk := range d.Skips {
			r.Skips = append(r.Skips, routeTestSkip{Route: sk.Route, Destination: sk.Destination, Reason: sk.Reason})
		}
		for _, tg := range d.Targets {
			plan := t.Plan(tg, f, now)
			rt := routeTestTarget{Route: tg.Route, Destination: tg.Destination.Name, Thread: tg.Thread, When: routes.DescribePlan(plan, tg.Route, tg.Destination.Name)}
			if !plan.Until.IsZero() {
				until := plan.Until.UTC()
				rt.Until = &until
			}
			r.Targets = append(r.Targets, rt)
			if p, ok := tg.Destination.Endpoint.(mentionPreviewer); ok {
				b, err := p.PreviewWith(ev, tg.Mentions)
				if err != nil {
					return fmt.Errorf("rendering for %s: %w", tg.Destination.Name, err)
				}
				r.Messages[tg.Destination.Name] = b
			} else if p, ok := tg.Destination.Endpoint.(previewer); ok {
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

// previewTable is the routes table of "routes test": the file given, else
// the one "ghnotify run" would load from the environment.
func previewTable(file string, lookup config.Lookup) (*routes.Table, error) {
	opts := routesOptions(lookup)
	env := config.NewEnv(lookup)
	if file == "" {
		file = env.String("GHNOTIFY_ROUTES", "")
	}
	webhook := env.Secret("SLACK_WEBHOOK_URL", "")
	if err := env.Err(); err != nil {
		return nil, err
	}
	switch {
	case file != "":
		return routes.Load(file, opts)
	case webhook.IsSet():
		return routes.DefaultWebhook(webhook, opts)
	default:
		return routes.DefaultConsole(opts)
	}
}
