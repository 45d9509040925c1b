package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/google/go-github/v93/github"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// recoverOptions are the flags of `ghnotify recover`.
type recoverOptions struct {
	Since  time.Duration
	Repo   string
	Org    string
	HookID int64
	APIURL string
	DryRun bool
}

func newRecoverCommand(e cliEnv) *cobra.Command {
	var o recoverOptions
	cmd := &cobra.Command{
		Use:   "recover --since 24h (--repo owner/name | --org name) --hook-id N [--dry-run]",
		Short: "Ask GitHub to redeliver the deliveries that never reached ghnotify",
		Long: `Asks GitHub for the hook's recent deliveries (GitHub keeps 3 days) and asks it
to redeliver each one that failed (no 2xx answer) within --since, unless GitHub
delivered it successfully later or it is already in the raw stream. GitHub's
redelivery keeps the delivery id, so nothing is stored twice.

The token comes from GITHUB_TOKEN (it needs admin:repo_hook, or admin:org_hook
for an organization hook). For GitHub Enterprise Server pass --api-url, e.g.
https://ghe.example.com/api/v3/. --dry-run lists what would be redelivered.`,
		Example: `  ghnotify recover --since 24h --repo acme/rocket --hook-id 123456 --dry-run
  ghnotify recover --since 6h --org acme --hook-id 654321`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return recoverCommand(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Since, "since", 24*time.Hour, "how far back to look (GitHub keeps deliveries 3 days)")
	f.StringVar(&o.Repo, "repo", "", "the repository of a repository hook, owner/name")
	f.StringVar(&o.Org, "org", "", "the organization of an organization hook")
	f.Int64Var(&o.HookID, "hook-id", 0, "the hook's id (X-GitHub-Hook-ID, or the number in the hook's settings URL)")
	f.StringVar(&o.APIURL, "api-url", "", "GitHub API base URL (default https://api.github.com/)")
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be redelivered and change nothing")
	return cmd
}

// hookAPI is the part of GitHub's REST API recover uses, for one hook.
type hookAPI interface {
	list(ctx context.Context, cursor string) ([]*github.HookDelivery, string, error)
	redeliver(ctx context.Context, id int64) error
}

type repoHook struct {
	c           *github.Client
	owner, repo string
	hook        int64
}

func (h repoHook) list(ctx context.Context, cursor string) ([]*github.HookDelivery, string, error) {
	ds, resp, err := h.c.Repositories.ListHookDeliveries(ctx, h.owner, h.repo, h.hook, &github.ListCursorOptions{PerPage: 100, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	return ds, resp.Cursor, nil
}

func (h repoHook) redeliver(ctx context.Context, id int64) error {
	_, _, err := h.c.Repositories.RedeliverHookDelivery(ctx, h.owner, h.repo, h.hook, id)
	return accepted(err)
}

type orgHook struct {
	c    *github.Client
	org  string
	hook int64
}

func (h orgHook) list(ctx context.Context, cursor string) ([]*github.HookDelivery, string, error) {
	ds, resp, err := h.c.Organizations.ListHookDeliveries(ctx, h.org, h.hook, &github.ListCursorOptions{PerPage: 100, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	return ds, resp.Cursor, nil
}

func (h orgHook) redeliver(ctx context.Context, id int64) error {
	_, _, err := h.c.Organizations.RedeliverHookDelivery(ctx, h.org, h.hook, id)
	return accepted(err)
}

// accepted treats GitHub's 202 Accepted, the answer to a redelivery, as success.
func accepted(err error) error {
	var ae *github.AcceptedError
	if errors.As(err, &ae) {
		return nil
	}
	return err
}

func recoverCommand(ctx context.Context, e cliEnv, o recoverOptions) error {
	if (o.Repo == "") == (o.Org == "") {
		return usageError{"recover: give exactly one of --repo owner/name and --org name"}
	}
	if o.HookID <= 0 {
		return usageError{"recover: --hook-id is required (the hook's numeric id)"}
	}
	if o.Since <= 0 {
		return usageError{"recover: --since must be positive, e.g. 24h"}
	}
	env := config.NewEnv(e.lookup)
	token := env.Secret("GITHUB_TOKEN", "")
	if err := env.Err(); err != nil {
		return err
	}
	if !token.IsSet() {
		return errors.New("recover needs a GitHub token in GITHUB_TOKEN (with admin:repo_hook, or admin:org_hook for an organization hook)")
	}
	opts := []github.ClientOptionsFunc{github.WithAuthToken(token.Reveal()), github.WithTimeout(30 * time.Second)}
	if o.APIURL != "" {
		opts = append(opts, github.WithURLs(&o.APIURL, nil))
	}
	client, err := github.NewClient(opts...)
	if err != nil {
		return usageError{fmt.Sprintf("recover: %v", err)}
	}
	var api hookAPI
	if o.Repo != "" {
		owner, repo, ok := splitRepo(o.Repo)
		if !ok {
			return usageError{fmt.Sprintf("recover: --repo %q: want owner/name", o.Repo)}
		}
		api = repoHook{c: client, owner: owner, repo: repo, hook: o.HookID}
	} else {
		api = orgHook{c: client, org: o.Org, hook: o.HookID}
	}
	since := time.Now().Add(-o.Since)
	failed, err := failedDeliveries(ctx, api, since)
	if err != nil {
		return fmt.Errorf("listing the hook's deliveries: %w", err)
	}
	if len(failed) == 0 {
		_, err := fmt.Fprintf(e.stdout, "no failed deliveries since %s\n", since.UTC().Format(time.RFC3339))
		return err
	}
	c, err := connectOps(e.lookup)
	if err != nil {
		return err
	}
	defer c.Close()
	stored, err := storedDeliveryIDs(ctx, c.js, since.Add(-time.Hour))
	if err != nil {
		return err
	}
	return redeliverFailed(ctx, api, failed, stored, o.DryRun, e.stdout)
}

func splitRepo(s string) (owner, repo string, ok bool) {
	owner, repo, ok = strings.Cut(s, "/")
	return owner, repo, ok && owner != "" && repo != "" && !strings.Contains(repo, "/")
}

// failedDelivery is one delivery GitHub could not make, by delivery id,
// with the latest failed attempt.
type failedDelivery struct {
	GUID       string
	AttemptID  int64
	At         time.Time
	StatusCode int
	Status     string
	Event      string
}

func ok2xx(code int) bool { return code >= 200 && code <= 299 }

// failedDeliveries lists the hook's deliveries since since (GitHub lists
// newest first) and returns the delivery ids none of whose attempts
// succeeded, newest first.
func failedDeliveries(ctx context.Context, api hookAPI, since time.Time) ([]failedDelivery, error) {
	succeeded := map[string]bool{}
	latest := map[string]*failedDelivery{}
	cursor := ""
	for {
		ds, next, err := api.list(ctx, cursor)
		if err != nil {
			return nil, err
		}
		older := false
		for _, d := range ds {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				older = true
				continue
			}
			guid := d.GetGUID()
			if ok2xx(d.GetStatusCode()) {
				succeeded[guid] = true
				continue
			}
			if f := latest[guid]; f == nil || at.After(f.At) {
				latest[guid] = &failedDelivery{GUID: guid, AttemptID: d.GetID(), At: at, StatusCode: d.GetStatusCode(), Status: d.GetStatus(), Event: d.GetEvent()}
			}
		}
		if older || next == "" || len(ds) == 0 {
			break
		}
		cursor = next
	}
	var out []failedDelivery
	for guid, f := range latest {
		if !succeeded[guid] {
			out = append(out, *f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// storedDeliveryIDs returns the delivery ids in the raw stream since since.
func storedDeliveryIDs(ctx context.Context, js jetstream.JetStream, since time.Time) (map[string]bool, error) {
	ids := map[string]bool{}
	err := scanStream(ctx, js, provision.StreamRaw, scanOptions{Filters: []string{subject.RawAll}, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
		ids[m.Headers().Get(delivery.HeaderDelivery)] = true
		return nil
	})
	return ids, err
}

// redeliverFailed asks GitHub to redeliver each failed delivery that is not
// stored, and says what it did with each.
func redeliverFailed(ctx context.Context, api hookAPI, failed []failedDelivery, stored map[string]bool, dryRun bool, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tFAILED AT\tEVENT\tANSWER\tACTION")
	n := 0
	var errs []error
	for _, f := range failed {
		answer := fmt.Sprintf("%d %s", f.StatusCode, f.Status)
		action := ""
		switch {
		case stored[f.GUID]:
			action = "already stored; skipped"
		case dryRun:
			action = "would redeliver"
			n++
		default:
			if err := api.redeliver(ctx, f.AttemptID); err != nil {
				action = "redelivery failed: " + oneLine(err.Error(), 80)
				errs = append(errs, fmt.Errorf("redelivering %s: %w", f.GUID, err))
			} else {
				action = "redelivery requested"
				n++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.GUID, f.At.UTC().Format(time.RFC3339), orDash(f.Event), oneLine(answer, 40), action)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dryRun {
		fmt.Fprintf(w, "%d deliveries would be redelivered (dry run: nothing asked of GitHub)\n", n)
	} else {
		fmt.Fprintf(w, "%d redeliveries requested\n", n)
	}
	return errors.Join(errs...)
}
