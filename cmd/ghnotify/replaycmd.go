package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// replaySelection says which messages a replay takes.
type replaySelection struct {
	Delivery string
	Since    string
	Until    string
	Subject  string
	To       string
	ID       string
	DryRun   bool
}

// replayKind is what differs between replaying raw deliveries and events.
type replayKind struct {
	name    string // "raw" or "events"
	stream  string
	all     string // the stream's subject filter
	noun    string // "raw deliveries", "events"
	example string
}

var (
	replayRaw = replayKind{name: "raw", stream: provision.StreamRaw, all: subject.RawAll, noun: "raw deliveries",
		example: `  ghnotify replay raw --delivery 6d3e2f10-8a3b-11ef-9a1c-1e2f3a4b5c6d
  ghnotify replay raw --since 2h --until 1h --subject 'github.raw.pull_request' --dry-run`}
	replayEvents = replayKind{name: "events", stream: provision.StreamEvents, all: subject.EventAll, noun: "events",
		example: `  ghnotify replay events --delivery 6d3e2f10-8a3b-11ef-9a1c-1e2f3a4b5c6d --to slack
  ghnotify replay events --since 24h --subject 'github.event.acme.>' --dry-run`}
)

func newReplayCommand(e cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Publish stored raw deliveries or events again, on purpose",
		Long: `Publishes stored messages again, marked as a replay (Ghnotify-Replay: <replay id>,
with a fresh Nats-Msg-Id): "replay raw" normalizes deliveries again and sends
their events onward; "replay events" posts events to their destinations again.
The sink posts each replayed event once per replay id, even when redelivered;
replaying again (a new replay id) posts again. See docs/operations.md.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageError{"replay: missing subcommand (raw or events)"}
		},
	}
	cmd.AddCommand(newReplayKindCommand(e, replayRaw), newReplayKindCommand(e, replayEvents))
	return cmd
}

func newReplayKindCommand(e cliEnv, k replayKind) *cobra.Command {
	var sel replaySelection
	short := "Normalize stored raw deliveries again and send their events onward"
	if k.name == "events" {
		short = "Post stored events to their destinations again"
	}
	cmd := &cobra.Command{
		Use:   k.name + " (--delivery ID | --since WHEN [--until WHEN] | --subject FILTER) [--to DESTINATION] [--dry-run]",
		Short: short,
		Long: short + `.

The selection is every original message (replayed copies are left out) that
matches all the options given: --delivery, the time window --since..--until
(a duration back from now, such as 2h, or an RFC 3339 time), and the subject
filter --subject. --to limits the posts to one destination. --id gives the
replay id, to finish an interrupted replay without posting twice what it
already replayed. --dry-run lists what would be replayed and changes nothing.`,
		Example: k.example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return replayCommand(cmd.Context(), e, k, sel)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sel.Delivery, "delivery", "", "only the messages of this delivery id")
	f.StringVar(&sel.Since, "since", "", "only messages stored since then: a duration back (2h) or an RFC 3339 time")
	f.StringVar(&sel.Until, "until", "", "only messages stored before then: a duration back (1h) or an RFC 3339 time")
	f.StringVar(&sel.Subject, "subject", "", "only messages on subjects matching this filter, e.g. 'github.event.acme.>'")
	f.StringVar(&sel.To, "to", "", "post to this destination only")
	f.StringVar(&sel.ID, "id", "", "replay id (default: a new one); reuse one to resume a replay")
	f.BoolVar(&sel.DryRun, "dry-run", false, "list what would be replayed and change nothing")
	return cmd
}

// parseWhen reads a duration back from now or an RFC 3339 time.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Sprintf("--%s %q: want a duration back from now (2h) or an RFC 3339 time", flag, s)}
}

// replayItem is one message a replay publishes again.
type replayItem struct {
	seq     uint64
	subject string
	origID  string
	data    []byte
	header  nats.Header
}

func replayCommand(ctx context.Context, e cliEnv, k replayKind, sel replaySelection) error {
	now := time.Now()
	since, err := parseWhen("since", sel.Since, now)
	if err != nil {
		return err
	}
	until, err := parseWhen("until", sel.Until, now)
	if err != nil {
		return err
	}
	if sel.Delivery == "" && since.IsZero() && sel.Subject == "" {
		return usageError{fmt.Sprintf("replay %s: say what to replay with --delivery, --since or --subject", k.name)}
	}
	filter := k.all
	if sel.Subject != "" {
		if !strings.HasPrefix(sel.Subject, strings.TrimSuffix(k.all, ">")) && sel.Subject != k.all {
			return usageError{fmt.Sprintf("replay %s: --subject %q is not within %s", k.name, sel.Subject, k.all)}
		}
		filter = sel.Subject
	}
	if sel.ID == "" {
		if sel.ID, err = replay.NewID(now); err != nil {
			return err
		}
	} else if !replay.ValidID(sel.ID) {
		return usageError{fmt.Sprintf("replay id %q: use 1 to 64 letters, digits, '-' and '_'", sel.ID)}
	}
	c, err := connectOps(e.lookup)
	if err != nil {
		return err
	}
	defer c.Close()

	var items []replayItem
	seen := map[string]bool{}
	err = scanStream(ctx, c.js, k.stream, scanOptions{Filters: []string{filter}, Since: since, HeadersOnly: sel.DryRun}, func(m jetstream.Msg) error {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if !until.IsZero() && !md.Timestamp.Before(until) {
			return nil
		}
		h := m.Headers()
		if replay.ID(h) != "" {
			return nil // a copy made by an earlier replay
		}
		if sel.Delivery != "" && h.Get(delivery.HeaderDelivery) != sel.Delivery {
			return nil
		}
		orig := h.Get(jetstream.MsgIDHeader)
		if orig == "" {
			orig = fmt.Sprintf("%s:%d", k.stream, md.Sequence.Stream)
		}
		if seen[orig] {
			return nil // the same message stored twice: replay it once
		}
		seen[orig] = true
		items = append(items, replayItem{seq: md.Sequence.Stream, subject: m.Subject(), origID: orig, data: m.Data(), header: h})
		return nil
	})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		_, err := fmt.Fprintf(e.stdout, "no %s match; nothing replayed\n", k.noun)
		return err
	}
	if sel.DryRun {
		for _, it := range items {
			fmt.Fprintf(e.stdout, "would replay #%d %s %s\n", it.seq, it.subject, it.origID)
		}
		_, err := fmt.Fprintf(e.stdout, "%d %s would be replayed (dry run: nothing changed)\n", len(items), k.noun)
		return err
	}
	return publishReplays(ctx, c.js, items, sel, k, e.stdout, e.stderr)
}

// publishReplays publishes each item again with the replay headers and
// waits for each PubAck.
func publishReplays(ctx context.Context, js jetstream.JetStream, items []replayItem, sel replaySelection, k replayKind, stdout, stderr io.Writer) error {
	p := newProgress(stderr, len(items), "replayed")
	for i, it := range items {
		m := nats.NewMsg(it.subject)
		m.Data = it.data
		for key, vs := range it.header {
			if key == jetstream.MsgIDHeader || key == replay.HeaderID || key == replay.HeaderTo {
				continue
			}
			m.Header[key] = append([]string(nil), vs...)
		}
		m.Header.Set(replay.HeaderID, sel.ID)
		if sel.To != "" {
			m.Header.Set(replay.HeaderTo, sel.To)
		}
		m.Header.Set(jetstream.MsgIDHeader, replay.MsgID(it.origID, sel.ID))
		pctx, cancel := context.WithTimeout(ctx, opsTimeout)
		_, err := js.PublishMsg(pctx, m)
		cancel()
		if err != nil {
			return fmt.Errorf("replaying #%d %s: %w (%d of %d replayed; run again with --id %s to finish without posting twice)", it.seq, it.subject, err, i, len(items), sel.ID)
		}
		p.step(i + 1)
	}
	p.finish(len(items))
	to := ""
	if sel.To != "" {
		to = " to " + sel.To
	}
	_, err := fmt.Fprintf(stdout, "replay %s: %d %s published again%s\n", sel.ID, len(items), k.noun, to)
	return err
}
