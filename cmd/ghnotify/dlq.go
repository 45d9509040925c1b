package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// deadLetterInfo is one dead letter as the dlq commands show it.
type deadLetterInfo = deadletter.Info

// listDeadLetters returns the dead letters stored since since (zero: all),
// oldest first, of one stage when stage is set.
var listDeadLetters = deadletter.List

func newDLQCommand(e cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show and redrive dead letters",
		Long: `Dead letters are the messages a stage gave up on (GHNOTIFY_DLQ): raw deliveries
the normalizer could not normalize, and events a Slack destination refused for
good (404 channel_not_found, 410 channel_is_archived...). Once the cause is
fixed, redrive sends them back to the stage that failed; a redriven dead
letter is removed from the stream, so "dlq list" shows what is left.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageError{"dlq: missing subcommand (list, show or redrive)"}
		},
	}
	var listJSON bool
	var listStage string
	var listSince time.Duration
	list := &cobra.Command{
		Use:   "list",
		Short: "List the dead letters, oldest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkStage(listStage); err != nil {
				return err
			}
			c, err := connectOps(e.lookup)
			if err != nil {
				return err
			}
			defer c.Close()
			var since time.Time
			if listSince > 0 {
				since = time.Now().Add(-listSince)
			}
			ls, err := listDeadLetters(cmd.Context(), c.js, since, listStage)
			if err != nil {
				return err
			}
			if listJSON {
				return writeJSON(e.stdout, ls)
			}
			return printDeadLetters(e.stdout, ls)
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print JSON")
	list.Flags().StringVar(&listStage, "stage", "", "only this stage: normalizer or slack-sink")
	list.Flags().DurationVar(&listSince, "since", 0, "only dead letters stored within this long (default: all)")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show SEQUENCE",
		Short: "Show one dead letter: its headers, reason and body",
		Args:  exactArgs(1, "one dead letter SEQUENCE (from dlq list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := parseSeq(args[0])
			if err != nil {
				return err
			}
			c, err := connectOps(e.lookup)
			if err != nil {
				return err
			}
			defer c.Close()
			return showDeadLetter(cmd.Context(), c.js, seq, showJSON, e.stdout)
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")

	var all, dryRun bool
	var stage string
	redrive := &cobra.Command{
		Use:   "redrive (SEQUENCE... | --all [--stage normalizer|slack-sink])",
		Short: "Send dead letters back to the stage that failed, once its cause is fixed",
		Long: `Publishes each dead letter again on its original subject, marked as a replay
(Ghnotify-Replay: redrive-<sequence>, and for the Slack sink
Ghnotify-Replay-To: <destination>, so only the destination that failed is
posted), then removes it from the dead-letter stream. A dead letter that fails
again is dead-lettered again, under a new sequence.`,
		Example: `  ghnotify dlq redrive 12 13
  ghnotify dlq redrive --all --stage slack-sink
  ghnotify dlq redrive --all --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkStage(stage); err != nil {
				return err
			}
			if all == (len(args) > 0) {
				return usageError{"dlq redrive takes dead letter SEQUENCEs or --all (see \"ghnotify dlq redrive --help\")"}
			}
			if stage != "" && !all {
				return usageError{"dlq redrive: --stage goes with --all"}
			}
			var seqs []uint64
			for _, a := range args {
				seq, err := parseSeq(a)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			c, err := connectOps(e.lookup)
			if err != nil {
				return err
			}
			defer c.Close()
			if all {
				ls, err := listDeadLetters(cmd.Context(), c.js, time.Time{}, stage)
				if err != nil {
					return err
				}
				for _, l := range ls {
					seqs = append(seqs, l.Sequence)
				}
			}
			return redriveLetters(cmd.Context(), c.js, seqs, dryRun, e.stdout, e.stderr)
		},
	}
	redrive.Flags().BoolVar(&all, "all", false, "redrive every dead letter (of --stage)")
	redrive.Flags().StringVar(&stage, "stage", "", "with --all: only this stage, normalizer or slack-sink")
	redrive.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be redriven and change nothing")
	cmd.AddCommand(list, show, redrive)
	return cmd
}

func checkStage(stage string) error {
	switch stage {
	case "", trace.StageNormalizer, trace.StageSink:
		return nil
	}
	return usageError{fmt.Sprintf("unknown stage %q: want normalizer or slack-sink", stage)}
}

func parseSeq(s string) (uint64, error) {
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 {
		return 0, usageError{fmt.Sprintf("%q is not a dead letter sequence (a positive number, from \"ghnotify dlq list\")", s)}
	}
	return seq, nil
}

// printDeadLetters writes the dead letters as a table.
func printDeadLetters(w io.Writer, ls []deadLetterInfo) error {
	if len(ls) == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSTAGE\tDELIVERY\tEVENT\tDESTINATION\tREASON")
	for _, l := range ls {
		ev := l.Event
		if l.Kind != "" {
			ev = l.Kind
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Sequence, l.Time.Format(time.RFC3339), l.Stage, orDash(l.DeliveryID), orDash(ev), orDash(l.Destination), oneLine(l.Reason, 100))
	}
	return tw.Flush()
}

// showDeadLetter prints one dead letter with its body.
func showDeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64, asJSON bool, w io.Writer) error {
	m, err := deadletter.Get(ctx, js, seq)
	if errors.Is(err, deadletter.ErrNotFound) {
		return fmt.Errorf("no dead letter %d (see \"ghnotify dlq list\")", seq)
	}
	if err != nil {
		return err
	}
	info := deadletter.InfoOf(m.Sequence, m.Time, m.Header)
	if asJSON {
		out := struct {
			deadLetterInfo
			Headers map[string][]string `json:"headers"`
			Body    json.RawMessage     `json:"body,omitempty"`
			BodyRaw string              `json:"body_text,omitempty"`
		}{deadLetterInfo: info, Headers: m.Header}
		if json.Valid(m.Data) {
			out.Body = m.Data
		} else {
			out.BodyRaw = string(m.Data)
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "dead letter %d, stored %s\n", info.Sequence, info.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "stage:       %s\nsubject:     %s\nreason:      %s\n", info.Stage, info.Subject, info.Reason)
	if info.Destination != "" {
		fmt.Fprintf(w, "destination: %s\n", info.Destination)
	}
	fmt.Fprintln(w, "headers:")
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(m.Header[k], ", "))
	}
	fmt.Fprintf(w, "body (%d bytes):\n%s\n", len(m.Data), m.Data)
	return nil
}

// redriveLetters redrives each dead letter and removes it once its stage's
// stream has stored it again.
func redriveLetters(ctx context.Context, js jetstream.JetStream, seqs []uint64, dryRun bool, stdout, stderr io.Writer) error {
	if _, err := js.Stream(ctx, provision.StreamDLQ); err != nil {
		return fmt.Errorf("opening stream %s: %w", provision.StreamDLQ, err)
	}
	if len(seqs) == 0 {
		_, err := fmt.Fprintln(stdout, "no dead letters to redrive")
		return err
	}
	p := newProgress(stderr, len(seqs), "redriven")
	done := 0
	for _, seq := range seqs {
		r, err := deadletter.Redrive(ctx, js, seq, dryRun, opsTimeout)
		if errors.Is(err, deadletter.ErrNotFound) {
			return fmt.Errorf("no dead letter %d (see \"ghnotify dlq list\"); %d redriven before it", seq, done)
		}
		what := fmt.Sprintf("%d %s %s -> %s", seq, r.Stage, orDash(r.DeliveryID), r.To)
		if r.Destination != "" {
			what += " (" + r.Destination + ")"
		}
		if err != nil {
			return fmt.Errorf("%w (%d redriven before it)", err, done)
		}
		if dryRun {
			fmt.Fprintln(stdout, "would redrive", what)
			continue
		}
		done++
		fmt.Fprintln(stdout, "redrove", what)
		p.step(done)
	}
	p.finish(done)
	return nil
}
