package message

import (
	"fmt"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
)

func boolp(b bool) *bool { return &b }

// base is an event of kind in acme/widgets by @octocat.
func base(kind string) *event.Event {
	name, verb, _ := strings.Cut(kind, ".")
	return &event.Event{SpecVersion: "1.0", ID: "d1/" + kind, Source: "https://github.com/acme/widgets", Type: event.Type(kind), Data: event.Data{
		Kind: kind, Event: name, Action: verb, DeliveryID: "d1", Organization: "acme",
		Repository: &event.Repository{Owner: "acme", Name: "widgets", FullName: "acme/widgets", URL: "https://github.com/acme/widgets", DefaultBranch: "main"},
		Actor:      event.Actor{Login: "octocat", URL: "https://github.com/octocat"},
		Details:    &event.Details{},
	}}
}

func pr(kind string) *event.Event {
	e := base(kind)
	e.Data.Target = &event.Target{Type: "pull_request", Number: 42, Title: "Add <widgets> & gears", URL: "https://github.com/acme/widgets/pull/42",
		Body: "This adds widgets.\nSee #41.", Labels: []string{"enhancement"}, BaseBranch: "main", HeadBranch: "feature/widgets", Draft: boolp(false)}
	return e
}

func issue(kind string) *event.Event {
	e := base(kind)
	e.Data.Target = &event.Target{Type: "issue", Number: 7, Title: "Widgets break on Mondays", URL: "https://github.com/acme/widgets/issues/7", Body: "Steps:\n1. wait for Monday", Labels: []string{"bug"}}
	return e
}

func with(e *event.Event, f func(t *event.Target, x *event.Details)) *event.Event {
	if e.Data.Target == nil {
		e.Data.Target = &event.Target{}
	}
	f(e.Data.Target, e.Data.Details)
	return e
}

func noTarget(e *event.Event) *event.Event {
	e.Data.Target = nil
	return e
}

type synthCase struct {
	name string
	ev   *event.Event
	opts Options
}

// testPeople is a people map for tests.
type testPeople struct {
	users, teams map[string]string
}

func (p testPeople) User(login string) (string, bool) {
	id, ok := p.users[strings.ToLower(login)]
	return id, ok
}

func (p testPeople) Team(org, slug string) (string, bool) {
	if id, ok := p.teams[strings.ToLower(org+"/"+slug)]; ok {
		return id, true
	}
	id, ok := p.teams[strings.ToLower(slug)]
	return id, ok
}

var people = testPeople{
	users: map[string]string{"alice": "U0ALICE01", "bob": "W0BOB0001"},
	teams: map[string]string{"acme/core": "S0CORE001"},
}

func commits(n int) []event.Commit {
	var out []event.Commit
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%07x%033d", i, i)
		out = append(out, event.Commit{ID: id, Message: fmt.Sprintf("Change %d\n\nDetails", i), URL: "https://github.com/acme/widgets/commit/" + id, Author: "Mona"})
	}
	return out
}

// syntheticCases are the golden cases written here: the kinds the
// corpus lacks, and the edge cases of issue 12.
func syntheticCases() []synthCase {
	var cs []synthCase
	add := func(name string, ev *event.Event) { cs = append(cs, synthCase{name: name, ev: ev}) }
	addWith := func(name string, ev *event.Event, o Options) { cs = append(cs, synthCase{name: name, ev: ev, opts: o}) }

	// Kinds the corpus has no payload of.
	add("branch_protection_configuration.enabled", noTarget(base("branch_protection_configuration.enabled")))
	add("custom_property.created", with(base("custom_property.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "custom_property", Title: "cost-center", URL: "https://github.com/organizations/acme/settings/custom-properties"}
		x.Description = "Who pays for it"
	}))
	add("custom_property_values.updated", with(noTarget(base("custom_property_values.updated")), func(_ *event.Target, x *event.Details) {
		x.ChangedFields = []string{"cost-center", "team"}
	}))
	add("deployment_protection_rule.requested", with(base("deployment_protection_rule.requested"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "deployment", Title: "production", URL: "https://github.com/acme/widgets/deployments"}
		x.Environment, x.Trigger, x.Ref, x.SHA = "production", "push", "main", "abcdef0123456789"
	}))
	add("installation_target.renamed", with(noTarget(base("installation_target.renamed")), func(_ *event.Target, x *event.Details) {
		x.Account, x.Previous = "acme-corp", "acme"
	}))
	add("issue_dependencies.blocked_by_added", with(issue("issue_dependencies.blocked_by_added"), func(_ *event.Target, x *event.Details) {
		x.Related = &event.Link{Type: "issue", Number: 3, Title: "Gears are missing", URL: "https://github.com/acme/widgets/issues/3"}
	}))
	add("personal_access_token_request.created", with(base("personal_access_token_request.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "personal_access_token_request", Title: "deploy-bot token", URL: "https://github.com/organizations/acme/settings/personal-access-token-requests"}
		x.Member = "octocat"
	}))
	add("projects_v2.created", with(base("projects_v2.created"), func(t *event.Target, _ *event.Details) {
		*t = event.Target{Type: "project", Number: 5, Title: "Roadmap", URL: "https://github.com/orgs/acme/projects/5"}
	}))
	add("projects_v2_status_update.created", with(base("projects_v2_status_update.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "project_status_update", Title: "Roadmap", URL: "https://github.com/orgs/acme/projects/5", Body: "On track for the release."}
		x.Status = "ON_TRACK"
	}))
	add("repository_advisory.reported", with(base("repository_advisory.reported"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "repository_advisory", Title: "Path traversal in the widget loader", URL: "https://github.com/acme/widgets/security/advisories/GHSA-abcd-efgh-ijkl"}
		x.Severity, x.GHSAID, x.Package, x.Ecosystem, x.VulnerableRange, x.PatchedVersion = "high", "GHSA-abcd-efgh-ijkl", "widgets", "npm", "< 2.1.0", "2.1.0"
	}))
	add("repository_ruleset.created", with(base("repository_ruleset.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "repository_ruleset", Title: "Protect main", URL: "https://github.com/acme/widgets/rules/7"}
		x.Status = "active"
	}))
	add("secret_scanning_alert_location.created", with(base("secret_scanning_alert_location.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "secret_scanning_alert", Number: 12, Title: "GitHub Personal Access Token", URL: "https://github.com/acme/widgets/security/secret-scanning/12"}
		x.SecretType, x.Path, x.Line = "GitHub Personal Access Token", "config/dev.env", 3
	}))
	add("secret_scanning_scan.completed", with(noTarget(base("secret_scanning_scan.completed")), func(_ *event.Target, x *event.Details) {
		x.ScanType = "backfill"
	}))
	add("security_and_analysis.changed", with(noTarget(base("security_and_analysis.changed")), func(_ *event.Target, x *event.Details) {
		x.ChangedFields = []string{"secret_scanning", "dependabot_security_updates"}
	}))
	add("sub_issues.sub_issue_added", with(issue("sub_issues.sub_issue_added"), func(_ *event.Target, x *event.Details) {
		x.Related = &event.Link{Type: "issue", Number: 9, Title: "Oil the gears", URL: "https://github.com/acme/widgets/issues/9"}
	}))

	// Security events with every field the layouts use.
	add("dependabot_alert.created.critical", with(base("dependabot_alert.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "dependabot_alert", Number: 4, Title: "Prototype pollution in lodash", URL: "https://github.com/acme/widgets/security/dependabot/4", State: "open"}
		x.Severity, x.Package, x.Ecosystem, x.GHSAID, x.CVEID = "critical", "lodash", "npm", "GHSA-jf85-cpcp-j695", "CVE-2019-10744"
		x.VulnerableRange, x.PatchedVersion, x.Path = "< 4.17.12", "4.17.12", "package-lock.json"
	}))
	add("dependabot_alert.dismissed", with(base("dependabot_alert.dismissed"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "dependabot_alert", Number: 5, Title: "ReDoS in minimatch", URL: "https://github.com/acme/widgets/security/dependabot/5", State: "dismissed"}
		x.Severity, x.Package, x.Ecosystem, x.GHSAID, x.Reason = "low", "minimatch", "npm", "GHSA-f8q6-p94x-37v3", "tolerable_risk"
		x.CommentBody = "Only used at build time."
	}))
	add("code_scanning_alert.created.high", with(base("code_scanning_alert.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "code_scanning_alert", Number: 21, Title: "Database query built from user-controlled sources", URL: "https://github.com/acme/widgets/security/code-scanning/21"}
		x.Severity, x.Rule, x.Tool, x.Path, x.Ref = "high", "js/sql-injection", "CodeQL", "src/db.js", "refs/heads/main"
	}))
	add("secret_scanning_alert.created", with(base("secret_scanning_alert.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "secret_scanning_alert", Number: 12, Title: "Slack Incoming Webhook URL", URL: "https://github.com/acme/widgets/security/secret-scanning/12"}
		x.SecretType = "Slack Incoming Webhook URL"
	}))

	// Outcomes.
	add("workflow_run.completed.failure", with(base("workflow_run.completed"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "workflow_run", Number: 318, Title: "Fix gears", URL: "https://github.com/acme/widgets/actions/runs/1", HeadBranch: "main"}
		x.WorkflowName, x.Conclusion, x.Status, x.SHA, x.Trigger, x.PullRequests = "CI", "failure", "completed", "abcdef0123456789", "push", []int{42}
	}))
	add("deployment_status.created.failure", with(base("deployment_status.created"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "deployment", Title: "production", URL: "https://widgets.example/deploys/9", State: "failure"}
		x.Environment, x.Status, x.Description, x.Ref, x.SHA = "production", "failure", "Health check failed", "main", "abcdef0123456789"
	}))
	add("check_run.completed.timed_out", with(base("check_run.completed"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "check_run", Title: "integration tests", URL: "https://github.com/acme/widgets/runs/5", HeadBranch: "feature/widgets"}
		x.Conclusion, x.Status, x.SHA, x.Description = "timed_out", "completed", "abcdef0123456789", "Timed out after 60 minutes"
	}))

	add("status.updated.failure", with(base("status.updated"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "commit", Title: "Fix gears", URL: "https://github.com/acme/widgets/commit/abcdef0123456789", State: "failure"}
		x.Status, x.Context, x.SHA, x.Description, x.TargetURL = "failure", "ci/circleci", "abcdef0123456789", "Your tests failed on CircleCI", "https://circleci.example/gh/acme/widgets/1"
	}))

	// Pushes: a deleted branch, a tag, a new branch, a force push, 60 commits.
	add("push.deleted_branch", with(noTarget(base("push.pushed")), func(_ *event.Target, x *event.Details) {
		x.Ref, x.RefName, x.RefType, x.Deleted, x.Before, x.After = "refs/heads/feature/old", "feature/old", "branch", true, "1234567890abcdef", "0000000000000000000000000000000000000000"
	}))
	add("push.tag", with(noTarget(base("push.pushed")), func(_ *event.Target, x *event.Details) {
		x.Ref, x.RefName, x.RefType, x.Created, x.CompareURL = "refs/tags/v1.2.0", "v1.2.0", "tag", true, "https://github.com/acme/widgets/compare/v1.2.0"
	}))
	add("push.new_branch_with_commits", with(noTarget(base("push.pushed")), func(_ *event.Target, x *event.Details) {
		x.Ref, x.RefName, x.RefType, x.Created, x.CompareURL = "refs/heads/feature/gears", "feature/gears", "branch", true, "https://github.com/acme/widgets/compare/feature/gears"
		x.Commits = commits(2)
		x.CommitCount = 2
	}))
	add("push.forced", with(noTarget(base("push.pushed")), func(_ *event.Target, x *event.Details) {
		x.Ref, x.RefName, x.RefType, x.Forced, x.CompareURL = "refs/heads/feature/widgets", "feature/widgets", "branch", true, "https://github.com/acme/widgets/compare/a...b"
		x.Commits = commits(1)
		x.CommitCount = 1
	}))
	add("push.60_commits", with(noTarget(base("push.pushed")), func(_ *event.Target, x *event.Details) {
		x.Ref, x.RefName, x.RefType, x.CompareURL = "refs/heads/main", "main", "branch", "https://github.com/acme/widgets/compare/a...b"
		x.Commits = commits(20)
		x.CommitCount = 60
	}))

	// Text edge cases.
	labels := pr("pull_request.opened")
	labels.Data.Target.Labels = nil
	for i := 1; i <= 200; i++ {
		labels.Data.Target.Labels = append(labels.Data.Target.Labels, fmt.Sprintf("area/%03d", i))
	}
	add("pull_request.opened.200_labels", labels)
	long := issue("issues.opened")
	long.Data.Target.Title = strings.Repeat("Widgets & gears <break> ", 210)[:5000]
	long.Data.Target.Body = strings.Repeat("A very long body. ", 400)
	add("issues.opened.5000_char_title", long)
	emoji := issue("issues.opened")
	// The family emoji (7 code points, 11 UTF-16 units) straddles the
	// notification's limit of 200: it is kept whole or left out, never split.
	emoji.Data.Target.Title = strings.Repeat("x", 150) + "👨‍👩‍👧‍👦🇫🇷" + strings.Repeat("y", 40)
	add("issues.opened.emoji_at_limit", emoji)
	ctrl := issue("issues.opened")
	ctrl.Data.Target.Title = "invoice\u202egnp.exe \x1b[31mred\x1b[0m\x00nul"
	ctrl.Data.Target.Body = "line one\r\nline\ttwo \u2066isolate\u2069 \x07bell"
	ctrl.Data.Target.Labels = []string{"bi\u202edi"}
	add("issues.opened.control_and_bidi", ctrl)
	fmtChars := pr("pull_request.opened")
	fmtChars.Data.Target.Title = "Fix *bold* _italic_ ~strike~ `code` in my_snake_case"
	fmtChars.Data.Target.HeadBranch = "fix/`tick`*star*"
	fmtChars.Data.Target.Body = "*Not bold*, <!channel>, <https://evil.example|click> and <@U999>."
	add("pull_request.opened.formatting_characters", fmtChars)

	// Mentions come from the people map and the route only.
	rr := pr("pull_request.review_requested")
	rr.Data.Details.RequestedReviewers = []string{"alice", "carol"}
	rr.Data.Details.RequestedTeams = []string{"core", "docs"}
	rr.Data.Target.Title = "Ping @alice and <@U0ALICE01>"
	addWith("pull_request.review_requested.mentions", rr, Options{People: people})
	as := issue("issues.assigned")
	as.Data.Details.Assignee = "bob"
	addWith("issues.assigned.mention", as, Options{People: people})
	dis := pr("pull_request_review.dismissed")
	dis.Data.Details.Reviewer, dis.Data.Details.ReviewState = "alice", "dismissed"
	dis.Data.Details.ReviewURL = "https://github.com/acme/widgets/pull/42#pullrequestreview-7"
	addWith("pull_request_review.dismissed.mention", dis, Options{People: people})
	un := pr("pull_request.review_requested")
	un.Data.Details.RequestedReviewers = []string{"dave"}
	addWith("pull_request.review_requested.unmapped", un, Options{People: people})
	failed := with(base("workflow_run.completed"), func(t *event.Target, x *event.Details) {
		*t = event.Target{Type: "workflow_run", Number: 319, Title: "Release", URL: "https://github.com/acme/widgets/actions/runs/2", HeadBranch: "main"}
		x.WorkflowName, x.Conclusion, x.SHA = "Deploy", "failure", "abcdef0123456789"
	})
	addWith("workflow_run.completed.route_mention", failed, Options{People: people, Mention: []string{"S0ONCALL1", "U0ALICE01"}})

	// A kind GitHub may add later still names its object.
	future := with(base("code_review_agent.summoned"), func(t *event.Target, _ *event.Details) {
		*t = event.Target{Type: "agent_session", Title: "Review of #42", URL: "https://github.com/acme/widgets/agents/1"}
	})
	add("generic.unknown_kind", future)
	return cs
}
