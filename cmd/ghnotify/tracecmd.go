package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newTraceCommand(e cliEnv) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trace DELIVERY-ID",
		Short: "Show the timeline of one delivery through every stage",
		Long: `Shows what happened to one delivery: the raw message the gateway stored (and
any replayed copies), the events the normalizer made of it, what the Slack sink
did for each destination (posted with the Slack timestamp, skipped and why,
dead-lettered and why), replays, and the dead letters still waiting.`,
		Example: `  ghnotify trace 6d3e2f10-8a3b-11ef-9a1c-1e2f3a4b5c6d
  ghnotify trace --json 6d3e2f10-8a3b-11ef-9a1c-1e2f3a4b5c6d`,
		Args: exactArgs(1, "one DELIVERY-ID (the X-GitHub-Delivery GUID)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connectOps(e.lookup)
			if err != nil {
				return err
			}
			defer c.Close()
			v, err := gatherDelivery(cmd.Context(), c.js, args[0])
			if err != nil {
				return err
			}
			if len(v.Raw) == 0 && len(v.Fates) == 0 && len(v.DeadLetters) == 0 {
				return fmt.Errorf("nothing is known about delivery %s (not in the raw stream, the trace or the dead letters; see \"ghnotify deliveries\")", args[0])
			}
			if asJSON {
				return writeJSON(e.stdout, v)
			}
			return printTrace(e.stdout, v)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// timelineEntry is one line of a trace.
type timelineEntry struct {
	at    time.Time
	stage string
	what  string
}

// printTrace writes the timeline of one delivery.
func printTrace(w io.Writer, v *deliveryView) error {
	fmt.Fprintf(w, "delivery %s\n", v.DeliveryID)
	fmt.Fprintf(w, "event:      %s\n", orDash(v.Event))
	if v.Repository != "" {
		fmt.Fprintf(w, "repository: %s\n", v.Repository)
	}
	if len(v.Kinds) > 0 {
		fmt.Fprintf(w, "kinds:      %s\n", strings.Join(v.Kinds, ", "))
	}
	if !v.ReceivedAt.IsZero() {
		fmt.Fprintf(w, "received:   %s\n", v.ReceivedAt.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(w, "status:     %s\n", strings.Join(v.Statuses, ", "))
	if len(v.AtSink) > 0 {
		fmt.Fprintf(w, "at sink:    %s (not acknowledged yet: waiting, or being retried)\n", strings.Join(v.AtSink, ", "))
	}
	fmt.Fprintln(w)

	var tl []timelineEntry
	for _, r := range v.Raw {
		what := fmt.Sprintf("stored raw #%d on %s", r.Sequence, r.Subject)
		if r.HookID != "" {
			what += " (hook " + r.HookID + ")"
		}
		if r.Replay != "" {
			what = fmt.Sprintf("replayed raw #%d on %s (replay %s)", r.Sequence, r.Subject, r.Replay)
		}
		tl = append(tl, timelineEntry{r.StoredAt, "gateway", what})
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
		tl = append(tl, timelineEntry{ev.StoredAt, "events", what})
	}
	for _, f := range v.Fates {
		tl = append(tl, timelineEntry{f.At, f.Stage, describeFate(f)})
	}
	for _, l := range v.DeadLetters {
		what := fmt.Sprintf("dead letter #%d waiting (%s", l.Sequence, l.Stage)
		if l.Destination != "" {
			what += ", " + l.Destination
		}
		what += "): " + oneLine(l.Reason, 200) + fmt.Sprintf(`; redrive with "ghnotify dlq redrive %d"`, l.Sequence)
		tl = append(tl, timelineEntry{l.Time, "dlq", what})
	}
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].at.Before(tl[j].at) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTAGE\tWHAT")
	for _, t := range tl {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.at.UTC().Format("2006-01-02T15:04:05.000Z"), t.stage, t.what)
	}
	return tw.Flush()
}
