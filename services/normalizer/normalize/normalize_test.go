package normalize

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/subject"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var received = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture loads testdata/fixtures/<name>.json as a delivery of the event
// named by the file name's first dot-separated part.
func fixture(t testing.TB, name string) delivery.Delivery {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "fixtures", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, _, _ := strings.Cut(name, ".")
	return delivery.Delivery{Event: ev, ID: "delivery-" + name, HookID: "77", ReceivedAt: received, Body: body}
}

func normalizeOne(t testing.TB, d delivery.Delivery) event.Event {
	t.Helper()
	evs, err := Normalize(d)
	if err != nil {
		t.Fatalf("Normalize(%s): %v", d.Event, err)
	}
	if len(evs) != 1 {
		t.Fatalf("Normalize(%s) gave %d events, want 1", d.Event, len(evs))
	}
	if err := evs[0].Validate(); err != nil {
		t.Fatalf("Normalize(%s) gave an invalid event: %v", d.Event, err)
	}
	return evs[0]
}

// TestGolden compares the event of every fixture with its golden file. Run
// `go test ./normalize -run TestGolden -update` after a deliberate change
// and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			ev := normalizeOne(t, fixture(t, name))
			got, err := json.MarshalIndent(struct {
				Subject string      `json:"nats_subject"`
				Event   event.Event `json:"event"`
			}{Subject(&ev), ev}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event differs from %s (run with -update and review the diff)\ngot:\n%s", golden, got)
			}
		})
	}
}

func TestNormalizeFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture  string
		kind     string
		subject  string // CloudEvents subject
		nats     string
		time     time.Time
		source   string
		check    func(t *testing.T, ev event.Event)
		noTarget bool
	}{
		{
			fixture: "issues.opened", kind: "issues.opened", subject: "Acme/api#42",
			nats: "github.event.acme.api.issues.opened", time: at("2026-05-03T11:30:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				tg := ev.Data.Target
				if tg.Type != "issue" || tg.Number != 42 || tg.Author != "alice" || !slices.Equal(tg.Labels, []string{"bug", "p1"}) ||
					!slices.Equal(tg.Assignees, []string{"bob"}) || tg.State != "open" {
					t.Errorf("target = %+v", tg)
				}
				r := ev.Data.Repository
				if r.Owner != "Acme" || r.Name != "api" || r.Private || r.DefaultBranch != "main" || r.URL != "https://github.com/Acme/api" {
					t.Errorf("repository = %+v", r)
				}
				if ev.Data.Organization != "Acme" || ev.Data.Actor.Login != "octocat" || ev.Data.Actor.Bot {
					t.Errorf("organization %q actor %+v", ev.Data.Organization, ev.Data.Actor)
				}
			},
		},
		{
			fixture: "issues.labeled", kind: "issues.labeled", subject: "Acme/api#42", nats: "github.event.acme.api.issues.labeled",
			time: at("2026-05-03T11:30:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Label, "p1") },
		},
		{
			fixture: "issues.assigned", kind: "issues.assigned", subject: "Acme/api#42", nats: "github.event.acme.api.issues.assigned",
			time: at("2026-05-03T11:30:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Assignee, "bob") },
		},
		{
			fixture: "issues.socketio", kind: "issues.closed", subject: "Acme/socket.io#9", nats: "github.event.acme.socket%2Eio.issues.closed",
			time: at("2026-05-03T11:30:00Z"), source: "https://github.com/Acme/socket.io",
			check: func(t *testing.T, ev event.Event) {
				if !ev.Data.Actor.Bot || ev.Data.Actor.Type != "Bot" {
					t.Errorf("actor = %+v, want a bot", ev.Data.Actor)
				}
			},
		},
		{
			fixture: "issue_comment.created", kind: "issue_comment.created", subject: "Acme/api#43", nats: "github.event.acme.api.issue_comment.created",
			time: at("2026-05-05T10:00:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Target.Type != "pull_request" {
					t.Errorf("comment on a pull request has target type %q", ev.Data.Target.Type)
				}
				wantDetail(t, ev.Data.Details.CommentBody, "LGTM, ship it")
			},
		},
		{
			fixture: "pull_request.opened", kind: "pull_request.opened", subject: "Acme/api#7", nats: "github.event.acme.api.pull_request.opened",
			time: at("2026-05-04T12:00:01Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				tg := ev.Data.Target
				if tg.Draft == nil || !*tg.Draft || tg.Merged == nil || *tg.Merged || tg.BaseBranch != "main" || tg.HeadBranch != "feature/retries" {
					t.Errorf("target = %+v", tg)
				}
				if !slices.Equal(ev.Data.Details.RequestedReviewers, []string{"erin"}) || !slices.Equal(ev.Data.Details.RequestedTeams, []string{"core"}) {
					t.Errorf("details = %+v", ev.Data.Details)
				}
			},
		},
		{
			fixture: "pull_request.merged", kind: "pull_request.merged", subject: "Acme/api#7", nats: "github.event.acme.api.pull_request.merged",
			time: at("2026-05-04T12:00:01Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Action != "closed" || ev.Type != "com.github.pull_request.merged" {
					t.Errorf("action %q type %q", ev.Data.Action, ev.Type)
				}
			},
		},
		{
			fixture: "pull_request.closed", kind: "pull_request.closed", subject: "Acme/api#7", nats: "github.event.acme.api.pull_request.closed",
			time: at("2026-05-04T12:00:01Z"), source: "https://github.com/Acme/api",
		},
		{
			fixture: "pull_request.review_requested", kind: "pull_request.review_requested", subject: "Acme/api#7",
			nats: "github.event.acme.api.pull_request.review_requested", time: at("2026-05-04T12:00:01Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if !slices.Equal(ev.Data.Details.RequestedReviewers, []string{"erin"}) || ev.Data.Details.RequestedTeams != nil {
					t.Errorf("details = %+v", ev.Data.Details)
				}
			},
		},
		{
			fixture: "pull_request.review_requested_team", kind: "pull_request.review_requested", subject: "Acme/api#7",
			nats: "github.event.acme.api.pull_request.review_requested", time: at("2026-05-04T12:00:01Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Details.RequestedReviewers != nil || !slices.Equal(ev.Data.Details.RequestedTeams, []string{"core"}) {
					t.Errorf("details = %+v", ev.Data.Details)
				}
			},
		},
		{
			fixture: "pull_request_review.submitted", kind: "pull_request_review.submitted", subject: "Acme/api#7",
			nats: "github.event.acme.api.pull_request_review.submitted", time: at("2026-05-04T13:00:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.ReviewState, "approved") },
		},
		{
			fixture: "pull_request_review_comment.created", kind: "pull_request_review_comment.created", subject: "Acme/api#7",
			nats: "github.event.acme.api.pull_request_review_comment.created", time: at("2026-05-04T13:06:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Path, "uploader/retry.go") },
		},
		{
			fixture: "push", kind: "push.pushed", subject: "Acme/api@refs/heads/main", nats: "github.event.acme.api.push.pushed",
			time: at("2026-05-06T06:05:00Z"), source: "https://github.com/Acme/api", noTarget: true,
			check: func(t *testing.T, ev event.Event) {
				d := ev.Data.Details
				if d.CommitCount != 2 || !d.Forced || d.HeadCommit == nil || d.HeadCommit.Message != "Docs" || d.HeadCommit.Author != "Bob B" {
					t.Errorf("details = %+v", d)
				}
				if len(d.Commits) != 2 || d.Commits[0].Author != "alice" {
					t.Errorf("commits = %+v", d.Commits)
				}
				if want := []string{"README.md", "old.txt", "retry/backoff.go", "retry/retry.go"}; !slices.Equal(d.ChangedPaths, want) {
					t.Errorf("changed paths = %v, want %v", d.ChangedPaths, want)
				}
			},
		},
		{
			fixture: "create", kind: "create.created", subject: "Acme/api@v1.2.0", nats: "github.event.acme.api.create.created",
			time: received, source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				wantDetail(t, ev.Data.Details.RefType, "tag")
				wantTarget(t, ev, "tag", "v1.2.0", "https://github.com/Acme/api/tree/v1.2.0")
			},
		},
		{
			fixture: "delete", kind: "delete.deleted", subject: "Acme/api@feature/old", nats: "github.event.acme.api.delete.deleted",
			time: received, source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				wantDetail(t, ev.Data.Details.Ref, "feature/old")
				wantTarget(t, ev, "branch", "feature/old", "") // a deleted branch has no page
			},
		},
		{
			fixture: "release.published", kind: "release.published", subject: "Acme/api@v1.2.0", nats: "github.event.acme.api.release.published",
			time: at("2026-05-07T10:00:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Details.TagName != "v1.2.0" || !ev.Data.Details.Prerelease || ev.Data.Target.Title != "Acme API 1.2" {
					t.Errorf("release = %+v %+v", ev.Data.Target, ev.Data.Details)
				}
			},
		},
		{
			fixture: "star.created", kind: "star.created", subject: "Acme/api", nats: "github.event.acme.api.star.created",
			time: at("2026-05-08T07:00:00Z"), source: "https://github.com/Acme/api", noTarget: true,
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.StarCount, 42) },
		},
		{
			fixture: "watch.started", kind: "watch.started", subject: "Acme/api", nats: "github.event.acme.api.watch.started",
			time: received, source: "https://github.com/Acme/api", noTarget: true,
		},
		{
			fixture: "fork", kind: "fork.created", subject: "Acme/api", nats: "github.event.acme.api.fork.created",
			time: at("2026-05-08T08:00:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Details.ForkName != "frank/api" || ev.Data.Actor.Login != "frank" {
					t.Errorf("fork = %+v actor %+v", ev.Data.Details, ev.Data.Actor)
				}
				wantTarget(t, ev, "fork", "frank/api", "https://github.com/frank/api")
			},
		},
		{
			fixture: "workflow_run.completed", kind: "workflow_run.completed", subject: "Acme/api/actions/runs/6001",
			nats: "github.event.acme.api.workflow_run.completed", time: at("2026-05-04T09:09:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				d := ev.Data.Details
				if d.WorkflowName != "CI" || d.Conclusion != "failure" || d.Trigger != "pull_request" || ev.Data.Target.Number != 88 {
					t.Errorf("workflow run = %+v %+v", ev.Data.Target, d)
				}
			},
		},
		{
			fixture: "workflow_job.completed", kind: "workflow_job.completed", subject: "Acme/api/actions/jobs/7001",
			nats: "github.event.acme.api.workflow_job.completed", time: at("2026-05-06T06:04:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Conclusion, "success") },
		},
		{
			fixture: "check_run.completed", kind: "check_run.completed", subject: "Acme/api@2222222222222222222222222222222222222222",
			nats: "github.event.acme.api.check_run.completed", time: at("2026-05-04T09:03:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Conclusion, "neutral") },
		},
		{
			fixture: "check_suite.completed", kind: "check_suite.completed", subject: "Acme/api@2222222222222222222222222222222222222222",
			nats: "github.event.acme.api.check_suite.completed", time: at("2026-05-04T09:04:00Z"), source: "https://github.com/Acme/api",
		},
		{
			fixture: "deployment_status.created", kind: "deployment_status.created", subject: "Acme/api/deployments/4001",
			nats: "github.event.acme.api.deployment_status.created", time: at("2026-05-06T07:05:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				d := ev.Data.Details
				if d.Environment != "production" || d.Status != "success" || d.TargetURL != "https://deploy.example.com/4001" {
					t.Errorf("deployment = %+v", d)
				}
			},
		},
		{
			fixture: "discussion.created", kind: "discussion.created", subject: "Acme/api#15", nats: "github.event.acme.api.discussion.created",
			time: at("2026-05-09T09:30:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Category, "Ideas") },
		},
		{
			fixture: "discussion.labeled", kind: "discussion.labeled", subject: "Acme/api#15", nats: "github.event.acme.api.discussion.labeled",
			time: at("2026-05-09T09:30:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Label, "roadmap") },
		},
		{
			fixture: "discussion_comment.created", kind: "discussion_comment.created", subject: "Acme/api#15",
			nats: "github.event.acme.api.discussion_comment.created", time: at("2026-05-09T10:00:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.CommentBody, "A CLI, please") },
		},
		{
			fixture: "member.added", kind: "member.added", subject: "Acme/api", nats: "github.event.acme.api.member.added",
			time: received, source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Details.Member != "grace" || ev.Data.Details.Permission != "write" {
					t.Errorf("member = %+v", ev.Data.Details)
				}
				wantTarget(t, ev, "user", "grace", "https://github.com/grace")
			},
		},
		{
			fixture: "member.edited", kind: "member.edited", subject: "Acme/api", nats: "github.event.acme.api.member.edited",
			time: received, source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Permission, "maintain") },
		},
		{
			fixture: "public", kind: "public.published", subject: "Acme/api", nats: "github.event.acme.api.public.published",
			time: received, source: "https://github.com/Acme/api", noTarget: true,
		},
		{
			fixture: "repository.archived", kind: "repository.archived", subject: "Acme/api", nats: "github.event.acme.api.repository.archived",
			time: received, source: "https://github.com/Acme/api", noTarget: true,
		},
		{
			fixture: "status", kind: "status.updated", subject: "Acme/api@aaaa000000000000000000000000000000000002",
			nats: "github.event.acme.api.status.updated", time: at("2026-05-06T08:11:00Z"), source: "https://github.com/Acme/api",
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Details.Context != "ci/external" || ev.Data.Details.Status != "failure" || ev.Data.Target.Title != "Docs" || !ev.Data.Actor.Bot {
					t.Errorf("status = %+v %+v %+v", ev.Data.Target, ev.Data.Details, ev.Data.Actor)
				}
			},
		},
		{
			fixture: "ping", kind: "ping.received", subject: "Acme/api", nats: "github.event.acme.api.ping.received",
			time: at("2026-05-01T00:00:00Z"), source: "https://github.com/Acme/api", noTarget: true,
			check: func(t *testing.T, ev event.Event) { wantDetail(t, ev.Data.Details.Zen, "Keep it logically awesome.") },
		},
		{
			fixture: "organization.member_added", kind: "organization.member_added", subject: "Acme",
			nats: "github.event.acme._.organization.member_added", time: received, source: "https://github.com/Acme",
			check: func(t *testing.T, ev event.Event) {
				wantTarget(t, ev, "user", "heidi", "https://github.com/heidi")
				wantDetail(t, ev.Data.Details.Role, "member")
			},
		},
		{
			fixture: "future_event.exploded", kind: "future_event.exploded", subject: "Acme/api",
			nats: "github.event.acme.api.future_event.exploded", time: received, source: "https://github.com/Acme/api", noTarget: true,
			check: func(t *testing.T, ev event.Event) {
				if ev.Data.Actor.Login != "octocat" || ev.Data.Repository.FullName != "Acme/api" || ev.Data.Organization != "Acme" {
					t.Errorf("generic event = %+v", ev.Data)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			d := fixture(t, tt.fixture)
			ev := normalizeOne(t, d)
			if ev.Data.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", ev.Data.Kind, tt.kind)
			}
			if ev.ID != d.ID+"/"+tt.kind {
				t.Errorf("id = %q, want the delivery id and kind", ev.ID)
			}
			if ev.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", ev.Subject, tt.subject)
			}
			if got := Subject(&ev); got != tt.nats {
				t.Errorf("NATS subject = %q, want %q", got, tt.nats)
			}
			if !ev.Time.Equal(tt.time) {
				t.Errorf("time = %s, want %s", ev.Time, tt.time)
			}
			if ev.Source != tt.source {
				t.Errorf("source = %q, want %q", ev.Source, tt.source)
			}
			if ev.Data.DeliveryID != d.ID || ev.Data.HookID != "77" {
				t.Errorf("delivery %q hook %q", ev.Data.DeliveryID, ev.Data.HookID)
			}
			if tt.noTarget != (ev.Data.Target == nil) {
				t.Errorf("target = %+v, want none: %v", ev.Data.Target, tt.noTarget)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, body string
	}{
		{"empty body", "issues", ""},
		{"not json", "issues", "action=opened"},
		{"array", "issues", `[{"action":"opened"}]`},
		{"truncated", "issues", `{"action":"opened","issue":{"number":1`},
		{"top-level field of the wrong type", "pull_request", `{"action":"opened","pull_request":"seven"}`},
		{"action is a number", "issues", `{"action":5}`},
		{"unknown event with a repository of the wrong type", "future_event", `{"action":"x","repository":"acme/api"}`},
		{"known event with a sender of the wrong shape", "issues", `{"action":"opened","sender":{"login":7}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Normalize(delivery.Delivery{Event: tt.event, ID: "d1", Body: []byte(tt.body)})
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("Normalize = %v, %v; want an ErrPayload error", evs, err)
			}
			if evs != nil {
				t.Errorf("events %v returned with an error", evs)
			}
		})
	}
	for _, d := range []delivery.Delivery{{ID: "d1", Body: []byte("{}")}, {Event: "issues", Body: []byte("{}")}} {
		if _, err := Normalize(d); !errors.Is(err, ErrPayload) {
			t.Errorf("Normalize(%+v) = %v, want an ErrPayload error", d, err)
		}
	}
}

// TestNormalizeTolerates covers payloads whose inner values go-github cannot
// read: the event still comes through.
func TestNormalizeTolerates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, body, kind, repo string
		wantTarget                    bool
		when                          time.Time
	}{
		{
			name: "nested value of an unexpected type", event: "discussion", kind: "discussion.answered", repo: "acme/api", wantTarget: true,
			body: `{"action":"answered","discussion":{"number":3,"title":"Q","answer_chosen_by":{"login":"x"}},"repository":{"name":"api","full_name":"acme/api","owner":{"login":"acme"}},"sender":{"login":"x"}}`,
		},
		{
			name: "timestamp in an older format", event: "check_run", kind: "check_run.rerequested", repo: "acme/api", wantTarget: true,
			body: `{"action":"rerequested","check_run":{"id":1,"started_at":"2018-04-25 20:42:10"},"repository":{"name":"api","full_name":"acme/api","owner":{"login":"acme"}},"sender":{"login":"x"}}`,
			when: at("2018-04-25T20:42:10Z"),
		},
		{
			name: "timestamp go-github cannot read", event: "check_run", kind: "check_run.rerequested", repo: "acme/api",
			body: `{"action":"rerequested","check_run":{"id":1,"started_at":"yesterday"},"repository":{"name":"api","full_name":"acme/api","owner":{"login":"acme"}},"sender":{"login":"x"}}`,
		},
		{
			name: "no repository, no sender", event: "future_event", kind: "future_event.received",
			body: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalizeOne(t, delivery.Delivery{Event: tt.event, ID: "d1", ReceivedAt: received, Body: []byte(tt.body)})
			if ev.Data.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", ev.Data.Kind, tt.kind)
			}
			gotRepo := ""
			if ev.Data.Repository != nil {
				gotRepo = ev.Data.Repository.FullName
			}
			if gotRepo != tt.repo {
				t.Errorf("repository = %q, want %q", gotRepo, tt.repo)
			}
			if (ev.Data.Target != nil) != tt.wantTarget {
				t.Errorf("target = %+v, want one: %v", ev.Data.Target, tt.wantTarget)
			}
			if want := cmp.Or(tt.when, received); !ev.Time.Equal(want) {
				t.Errorf("time = %s, want %s", ev.Time, want)
			}
			if !subject.Valid(Subject(&ev)) {
				t.Errorf("invalid subject %q", Subject(&ev))
			}
		})
	}
}

// TestSource covers the CloudEvents source of payloads whose URLs are
// missing or unusable: it is always an absolute, escaped URL.
func TestSource(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"repository URL", `{"repository":{"full_name":"acme/api","html_url":"https://github.com/acme/api"}}`, "https://github.com/acme/api"},
		{"organization URL", `{"organization":{"login":"acme","html_url":"https://github.com/acme"}}`, "https://github.com/acme"},
		{"no URL, Enterprise actor", `{"repository":{"full_name":"acme/api"},"sender":{"login":"x","html_url":"https://ghe.example.com/x"}}`,
			"https://ghe.example.com/acme/api"},
		{"not a web URL", `{"repository":{"full_name":"acme/api","html_url":"javascript:alert(1)"}}`, "https://github.com/acme/api"},
		{"URL with credentials", `{"repository":{"full_name":"acme/api","html_url":"https://u:p@github.com/acme/api"}}`, "https://github.com/acme/api"},
		{"name needing escapes", `{"repository":{"full_name":"a b/c?d","html_url":"::"}}`, "https://github.com/a%20b/c%3Fd"},
		{"nothing", `{}`, "https://github.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalizeOne(t, delivery.Delivery{Event: "future_event", ID: "d1", ReceivedAt: received, Body: []byte(tt.body)})
			if ev.Source != tt.want {
				t.Errorf("source = %q, want %q", ev.Source, tt.want)
			}
		})
	}
}

func TestNormalizeIsDeterministic(t *testing.T) {
	t.Parallel()
	d := fixture(t, "pull_request.merged")
	a, err := event.Marshal(ptr(normalizeOne(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	d.ReceivedAt = received.Add(time.Hour) // a redelivery, read later
	b, err := event.Marshal(ptr(normalizeOne(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the same delivery normalized twice differs:\n%s\n%s", a, b)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxTextLen) // two bytes each
	got := truncate(long)
	if len(got) > maxTextLen+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("truncate gave %d bytes", len(got))
	}
	if !json.Valid([]byte(`"`+got+`"`)) || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("truncate cut inside a character")
	}
	if truncate("short") != "short" {
		t.Errorf("truncate changed a short text")
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func wantDetail[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("detail = %v, want %v", got, want)
	}
}

// wantTarget checks the type, title and URL of an event's target.
func wantTarget(t *testing.T, ev event.Event, typ, title, url string) {
	t.Helper()
	tg := ev.Data.Target
	if tg == nil {
		t.Errorf("no target, want %s %q", typ, title)
		return
	}
	if tg.Type != typ || tg.Title != title || tg.URL != url {
		t.Errorf("target = %s %q %q, want %s %q %q", tg.Type, tg.Title, tg.URL, typ, title, url)
	}
}
