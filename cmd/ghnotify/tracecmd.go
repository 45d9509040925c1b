package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ghnotify/ghnotify/shared/history"

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
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTAGE\tWHAT")
	for _, t := range history.Timeline(v) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.At.UTC().Format("2006-01-02T15:04:05.000Z"), t.Stage, t.What)
	}
	return tw.Flush()
}
