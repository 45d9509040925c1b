package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newDeliveriesCommand(e cliEnv) *cobra.Command {
	var since time.Duration
	var f deliveryFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deliveries [--since 1h] [--repo owner/name] [--event NAME] [--status STATUS] [--json]",
		Short: "List recent deliveries, newest first, with their fate at each stage",
		Long: `Lists the deliveries stored within --since, newest first: when, the delivery
id, event and kinds, repository, and what became of them: posted to which
destinations, skipped and why, dead-lettered and why, replayed.

--status keeps the deliveries that reached a status at some stage: stored,
normalized, posted, skipped, retrying (the sink has not finished with an
event yet), failed or dead-lettered.`,
		Example: `  ghnotify deliveries --since 1h
  ghnotify deliveries --repo acme/rocket --event pull_request
  ghnotify deliveries --status dead-lettered --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since <= 0 {
				return usageError{"deliveries: --since must be positive, e.g. 1h"}
			}
			if f.Status != "" && !slices.Contains(allStatuses, f.Status) {
				return usageError{fmt.Sprintf("deliveries: unknown status %q: want one of %s", f.Status, strings.Join(allStatuses, ", "))}
			}
			f.Since = time.Now().Add(-since)
			c, err := connectOps(e.lookup)
			if err != nil {
				return err
			}
			defer c.Close()
			vs, err := gatherDeliveries(cmd.Context(), c.js, f)
			if err != nil {
				return err
			}
			if asJSON {
				if vs == nil {
					vs = []*deliveryView{}
				}
				return writeJSON(e.stdout, vs)
			}
			return printDeliveries(e.stdout, vs)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&since, "since", time.Hour, "how far back to look")
	fl.StringVar(&f.Repo, "repo", "", "only this repository, owner/name")
	fl.StringVar(&f.Event, "event", "", "only this GitHub event, e.g. pull_request")
	fl.StringVar(&f.Status, "status", "", "only deliveries with this status: "+strings.Join(allStatuses, "|"))
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printDeliveries writes one line per delivery.
func printDeliveries(w io.Writer, vs []*deliveryView) error {
	if len(vs) == 0 {
		_, err := fmt.Fprintln(w, "no deliveries")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDELIVERY\tEVENT\tREPOSITORY\tFATE")
	for _, v := range vs {
		ev := orDash(v.Event)
		if len(v.Kinds) > 0 {
			ev = strings.Join(v.Kinds, ",")
		}
		at := "-"
		if t := v.When(); !t.IsZero() {
			at = t.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", at, v.DeliveryID, ev, orDash(v.Repository), summarize(v))
	}
	return tw.Flush()
}
