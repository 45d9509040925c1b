package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
)

// richCheck compares one rich field of an event with the value the test
// reads itself from the raw payload. It returns false when the payload has
// no value there, so that nothing was checked.
type richCheck struct {
	name  string
	check func(t *testing.T, payload any, ev *event.Event) bool
}

// richChecks lists, per event type with rich fields, what the canonical
// event must carry whenever the payload has it. Paths are dot-separated
// member names; "[]" after a name walks every element of an array; "a|b"
// takes the first alternative with a value.
var richChecks = map[string][]richCheck{}

func init() {
	issue := func(p string) []richCheck {
		return []richCheck{
			wantInt(p+".number", func(ev *event.Event) int64 { return int64(tgt(ev).Number) }),
			wantString(p+".title", func(ev *event.Event) string { return tgt(ev).Title }),
			wantString(p+".html_url", func(ev *event.Event) string { return tgt(ev).URL }),
			wantString(p+".state", func(ev *event.Event) string { return tgt(ev).State }),
			wantString(p+".user.login", func(ev *event.Event) string { return tgt(ev).Author }),
			wantList(p+".labels[].name", func(ev *event.Event) []string { return tgt(ev).Labels }),
			wantList(p+".assignees[].login", func(ev *event.Event) []string { return tgt(ev).Assignees }),
			wantBool(p+".draft", func(ev *event.Event) *bool { return tgt(ev).Draft }),
			wantPrefix(p+".body", func(ev *event.Event) string { return tgt(ev).Body }),
			wantTime(p + ".updated_at|" + p + ".created_at"),
		}
	}
	pull := append(issue("pull_request"),
		wantBool("pull_request.merged", func(ev *event.Event) *bool { return tgt(ev).Merged }),
		wantString("pull_request.base.ref", func(ev *event.Event) string { return tgt(ev).BaseBranch }),
		wantString("pull_request.head.ref", func(ev *event.Event) string { return tgt(ev).HeadBranch }),
		wantString("pull_request.head.sha", func(ev *event.Event) string { return det(ev).SHA }),
	)
	comment := []richCheck{
		wantString("comment.html_url", func(ev *event.Event) string { return det(ev).CommentURL }),
		wantPrefix("comment.body", func(ev *event.Event) string { return det(ev).CommentBody }),
	}
	commentTime := wantTime("comment.updated_at|comment.created_at")
	withoutTime := func(cs []richCheck) []richCheck {
		return slices.DeleteFunc(slices.Clone(cs), func(c richCheck) bool { return strings.HasPrefix(c.name, "time ") })
	}

	richChecks["issues"] = append(issue("issue"),
		wantString("label.name", func(ev *event.Event) string { return det(ev).Label }),
		wantString("assignee.login", func(ev *event.Event) string { return det(ev).Assignee }),
		wantTargetType("issue"),
	)
	richChecks["issue_comment"] = append(append(withoutTime(issue("issue")), comment...), commentTime, wantTargetType("issue"))
	richChecks["pull_request"] = append(pull,
		wantString("label.name", func(ev *event.Event) string { return det(ev).Label }),
		wantString("assignee.login", func(ev *event.Event) string { return det(ev).Assignee }),
		wantContains("requested_reviewer.login", func(ev *event.Event) []string { return det(ev).RequestedReviewers }),
		wantContains("requested_team.slug|requested_team.name", func(ev *event.Event) []string { return det(ev).RequestedTeams }),
		richCheck{"requested reviewers and teams of the pull request", func(t *testing.T, payload any, ev *event.Event) bool {
			if len(values(payload, "requested_reviewer|requested_team")) > 0 {
				return false // the action names the one reviewer or team it is about
			}
			users := strings1(values(payload, "pull_request.requested_reviewers[].login"))
			teams := strings1(values(payload, "pull_request.requested_teams[].slug"))
			if len(users)+len(teams) == 0 {
				return false
			}
			if !slices.Equal(users, det(ev).RequestedReviewers) || !slices.Equal(teams, det(ev).RequestedTeams) {
				t.Errorf("requested reviewers %v teams %v, payload has %v %v", det(ev).RequestedReviewers, det(ev).RequestedTeams, users, teams)
			}
			return true
		}},
		wantTargetType("pull_request"),
	)
	richChecks["pull_request_review"] = append(withoutTime(pull),
		wantFold("review.state", func(ev *event.Event) string { return det(ev).ReviewState }),
		wantString("review.html_url", func(ev *event.Event) string { return det(ev).ReviewURL }),
		wantString("review.user.login", func(ev *event.Event) string { return det(ev).Reviewer }),
		wantPrefix("review.body", func(ev *event.Event) string { return det(ev).CommentBody }),
		wantTime("review.submitted_at"),
	)
	richChecks["pull_request_review_comment"] = append(append(withoutTime(pull), comment...), commentTime,
		wantString("comment.path", func(ev *event.Event) string { return det(ev).Path }),
	)
	richChecks["push"] = []richCheck{
		wantString("ref", func(ev *event.Event) string { return det(ev).Ref }),
		wantString("before", func(ev *event.Event) string { return det(ev).Before }),
		wantString("after", func(ev *event.Event) string { return det(ev).After }),
		wantString("compare", func(ev *event.Event) string { return det(ev).CompareURL }),
		wantBool("forced", func(ev *event.Event) *bool { return ptr(det(ev).Forced) }),
		wantBool("created", func(ev *event.Event) *bool { return ptr(det(ev).Created) }),
		wantBool("deleted", func(ev *event.Event) *bool { return ptr(det(ev).Deleted) }),
		wantString("head_commit.id", func(ev *event.Event) string {
			if hc := det(ev).HeadCommit; hc != nil {
				return hc.ID
			}
			return ""
		}),
		wantTime("head_commit.timestamp"),
		{"commit count and commits", func(t *testing.T, payload any, ev *event.Event) bool {
			ids := strings1(values(payload, "commits[].id"))
			if len(ids) == 0 {
				return false
			}
			var got []string
			for _, c := range det(ev).Commits {
				got = append(got, c.ID)
			}
			if det(ev).CommitCount != len(ids) || !slices.Equal(got, ids[:min(len(ids), maxCommits)]) {
				t.Errorf("commit count %d commits %v, payload has %v", det(ev).CommitCount, got, ids)
			}
			return true
		}},
		{"changed paths", func(t *testing.T, payload any, ev *event.Event) bool {
			var paths []string
			for _, k := range []string{"added", "removed", "modified"} {
				paths = append(paths, strings1(values(payload, "commits[]."+k+"[]"))...)
			}
			slices.Sort(paths)
			paths = slices.Compact(paths)
			if len(paths) == 0 {
				return false
			}
			if want := paths[:min(len(paths), maxPaths)]; !slices.Equal(det(ev).ChangedPaths, want) {
				t.Errorf("changed paths %v, payload has %v", det(ev).ChangedPaths, want)
			}
			return true
		}},
	}
	ref := []richCheck{
		wantString("ref", func(ev *event.Event) string { return det(ev).Ref }),
		wantString("ref_type", func(ev *event.Event) string { return det(ev).RefType }),
	}
	richChecks["create"] = ref
	richChecks["delete"] = ref
	richChecks["release"] = []richCheck{
		wantString("release.tag_name", func(ev *event.Event) string { return det(ev).TagName }),
		wantString("release.name|release.tag_name", func(ev *event.Event) string { return tgt(ev).Title }),
		wantString("release.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantString("release.author.login", func(ev *event.Event) string { return tgt(ev).Author }),
		wantBool("release.draft", func(ev *event.Event) *bool { return tgt(ev).Draft }),
		wantBool("release.prerelease", func(ev *event.Event) *bool { return ptr(det(ev).Prerelease) }),
		wantTime("release.published_at|release.created_at"),
		wantTargetType("release"),
	}
	stars := wantInt("repository.stargazers_count", func(ev *event.Event) int64 { return int64(det(ev).StarCount) })
	richChecks["star"] = []richCheck{stars, wantTime("starred_at")}
	richChecks["watch"] = []richCheck{stars}
	richChecks["fork"] = []richCheck{
		stars,
		wantString("forkee.full_name", func(ev *event.Event) string { return det(ev).ForkName }),
		wantString("forkee.html_url", func(ev *event.Event) string { return det(ev).ForkURL }),
	}
	richChecks["workflow_run"] = []richCheck{
		wantString("workflow_run.name|workflow.name", func(ev *event.Event) string { return det(ev).WorkflowName }),
		wantString("workflow_run.display_title|workflow_run.name", func(ev *event.Event) string { return tgt(ev).Title }),
		wantString("workflow_run.status", func(ev *event.Event) string { return det(ev).Status }),
		wantString("workflow_run.conclusion", func(ev *event.Event) string { return det(ev).Conclusion }),
		wantString("workflow_run.head_branch", func(ev *event.Event) string { return tgt(ev).HeadBranch }),
		wantString("workflow_run.head_sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("workflow_run.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantString("workflow_run.event", func(ev *event.Event) string { return det(ev).Trigger }),
		wantInt("workflow_run.run_number", func(ev *event.Event) int64 { return int64(tgt(ev).Number) }),
		wantTime("workflow_run.updated_at"),
		wantTargetType("workflow_run"),
	}
	richChecks["workflow_job"] = []richCheck{
		wantString("workflow_job.name", func(ev *event.Event) string { return tgt(ev).Title }),
		wantString("workflow_job.workflow_name", func(ev *event.Event) string { return det(ev).WorkflowName }),
		wantString("workflow_job.status", func(ev *event.Event) string { return det(ev).Status }),
		wantString("workflow_job.conclusion", func(ev *event.Event) string { return det(ev).Conclusion }),
		wantString("workflow_job.head_sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("workflow_job.head_branch", func(ev *event.Event) string { return tgt(ev).HeadBranch }),
		wantString("workflow_job.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantTime("workflow_job.completed_at|workflow_job.started_at"),
		wantTargetType("workflow_job"),
	}
	richChecks["check_run"] = []richCheck{
		wantString("check_run.name", func(ev *event.Event) string { return tgt(ev).Title }),
		wantString("check_run.status", func(ev *event.Event) string { return det(ev).Status }),
		wantString("check_run.conclusion", func(ev *event.Event) string { return det(ev).Conclusion }),
		wantString("check_run.head_sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("check_run.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantString("check_run.app.name", func(ev *event.Event) string { return det(ev).WorkflowName }),
		wantString("check_run.check_suite.head_branch", func(ev *event.Event) string { return tgt(ev).HeadBranch }),
		wantTargetType("check_run"),
	}
	richChecks["check_suite"] = []richCheck{
		wantString("check_suite.status", func(ev *event.Event) string { return det(ev).Status }),
		wantString("check_suite.conclusion", func(ev *event.Event) string { return det(ev).Conclusion }),
		wantString("check_suite.head_sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("check_suite.head_branch", func(ev *event.Event) string { return tgt(ev).HeadBranch }),
		wantString("check_suite.app.name", func(ev *event.Event) string { return det(ev).WorkflowName }),
		wantTime("check_suite.updated_at"),
		wantTargetType("check_suite"),
	}
	richChecks["deployment_status"] = []richCheck{
		wantString("deployment_status.state", func(ev *event.Event) string { return det(ev).Status }),
		wantString("deployment_status.environment|deployment.environment", func(ev *event.Event) string { return det(ev).Environment }),
		wantString("deployment_status.target_url|deployment_status.log_url", func(ev *event.Event) string { return det(ev).TargetURL }),
		wantString("deployment.sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("deployment.ref", func(ev *event.Event) string { return det(ev).Ref }),
		wantInt("deployment.id", func(ev *event.Event) int64 { return tgt(ev).ID }),
		wantTime("deployment_status.updated_at"),
		wantTargetType("deployment"),
	}
	discussion := []richCheck{
		wantInt("discussion.number", func(ev *event.Event) int64 { return int64(tgt(ev).Number) }),
		wantString("discussion.title", func(ev *event.Event) string { return tgt(ev).Title }),
		wantString("discussion.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantString("discussion.state", func(ev *event.Event) string { return tgt(ev).State }),
		wantString("discussion.user.login", func(ev *event.Event) string { return tgt(ev).Author }),
		wantString("discussion.category.name", func(ev *event.Event) string { return det(ev).Category }),
		wantTargetType("discussion"),
	}
	richChecks["discussion"] = append(slices.Clone(discussion),
		wantString("label.name", func(ev *event.Event) string { return det(ev).Label }),
		wantTime("discussion.updated_at"),
	)
	richChecks["discussion_comment"] = append(append(slices.Clone(discussion), comment...), commentTime)
	richChecks["member"] = []richCheck{
		wantString("member.login", func(ev *event.Event) string { return det(ev).Member }),
		wantString("changes.permission.to|changes.role_name.to", func(ev *event.Event) string { return det(ev).Permission }),
	}
	richChecks["public"] = []richCheck{
		wantString("repository.default_branch", func(ev *event.Event) string { return repo(ev).DefaultBranch }),
	}
	richChecks["repository"] = []richCheck{
		wantPrefix("repository.description", func(ev *event.Event) string { return det(ev).Description }),
	}
	richChecks["status"] = []richCheck{
		wantString("sha", func(ev *event.Event) string { return det(ev).SHA }),
		wantString("state", func(ev *event.Event) string { return det(ev).Status }),
		wantString("context", func(ev *event.Event) string { return det(ev).Context }),
		wantPrefix("description", func(ev *event.Event) string { return det(ev).Description }),
		wantString("target_url", func(ev *event.Event) string { return det(ev).TargetURL }),
		wantString("commit.html_url", func(ev *event.Event) string { return tgt(ev).URL }),
		wantString("commit.author.login|commit.commit.author.name", func(ev *event.Event) string { return tgt(ev).Author }),
		wantTime("updated_at"),
		wantTargetType("commit"),
	}
	richChecks["ping"] = []richCheck{
		wantString("zen", func(ev *event.Event) string { return det(ev).Zen }),
		wantTime("hook.created_at"),
	}
	longTailChecks()
}

// longTailChecks lists the fields of the event types beyond the core ones:
// the object each names and the facts their layouts need.
func longTailChecks() {
	title := func(path string) richCheck {
		return wantString(path, func(ev *event.Event) string { return tgt(ev).Title })
	}
	url := func(path string) richCheck {
		return wantString(path, func(ev *event.Event) string { return tgt(ev).URL })
	}
	number := func(path string) richCheck {
		return wantInt(path, func(ev *event.Event) int64 { return int64(tgt(ev).Number) })
	}
	state := func(path string) richCheck {
		return wantString(path, func(ev *event.Event) string { return tgt(ev).State })
	}
	str := func(path string, f func(d *event.Details) string) richCheck {
		return wantString(path, func(ev *event.Event) string { return f(det(ev)) })
	}
	prefix := func(path string, f func(d *event.Details) string) richCheck {
		return wantPrefix(path, func(ev *event.Event) string { return f(det(ev)) })
	}

	richChecks["push"] = append(richChecks["push"], richCheck{"ref type and name from the ref", func(t *testing.T, payload any, ev *event.Event) bool {
		ref, _ := first1(payload, "ref").(string)
		typ, name := "", ref
		switch {
		case strings.HasPrefix(ref, "refs/heads/"):
			typ, name = "branch", strings.TrimPrefix(ref, "refs/heads/")
		case strings.HasPrefix(ref, "refs/tags/"):
			typ, name = "tag", strings.TrimPrefix(ref, "refs/tags/")
		default:
			return false
		}
		if det(ev).RefType != typ || det(ev).RefName != name {
			t.Errorf("ref %q: ref type %q name %q, want %q %q", ref, det(ev).RefType, det(ev).RefName, typ, name)
		}
		return true
	}})
	richChecks["create"] = append(richChecks["create"], title("ref"), wantTargetType("branch|tag"))
	richChecks["delete"] = append(richChecks["delete"], title("ref"))
	richChecks["commit_comment"] = []richCheck{
		prefix("comment.body", func(d *event.Details) string { return d.CommentBody }),
		str("comment.html_url", func(d *event.Details) string { return d.CommentURL }),
		str("comment.commit_id", func(d *event.Details) string { return d.SHA }),
		str("comment.path", func(d *event.Details) string { return d.Path }),
		wantInt("comment.line", func(ev *event.Event) int64 { return int64(det(ev).Line) }),
		wantTime("comment.updated_at|comment.created_at"),
		wantTargetType("commit"),
	}
	richChecks["issues"] = append(richChecks["issues"], str("milestone.title", func(d *event.Details) string { return d.Milestone }))
	richChecks["dependabot_alert"] = []richCheck{
		number("alert.number"), url("alert.html_url"), state("alert.state"), title("alert.security_advisory.summary"),
		str("alert.security_vulnerability.severity|alert.security_advisory.severity", func(d *event.Details) string { return d.Severity }),
		str("alert.dependency.package.name", func(d *event.Details) string { return d.Package }),
		str("alert.dependency.package.ecosystem", func(d *event.Details) string { return d.Ecosystem }),
		str("alert.security_advisory.ghsa_id", func(d *event.Details) string { return d.GHSAID }),
		str("alert.security_advisory.cve_id", func(d *event.Details) string { return d.CVEID }),
		str("alert.security_vulnerability.vulnerable_version_range", func(d *event.Details) string { return d.VulnerableRange }),
		str("alert.security_vulnerability.first_patched_version.identifier", func(d *event.Details) string { return d.PatchedVersion }),
		str("alert.dismissed_reason", func(d *event.Details) string { return d.Reason }),
		str("alert.dependency.manifest_path", func(d *event.Details) string { return d.Path }),
		wantTargetType("dependabot_alert"),
	}
	richChecks["code_scanning_alert"] = []richCheck{
		number("alert.number"), url("alert.html_url"), state("alert.state"), title("alert.rule.description"),
		str("alert.rule.security_severity_level|alert.rule.severity", func(d *event.Details) string { return d.Severity }),
		str("alert.rule.id", func(d *event.Details) string { return d.Rule }),
		str("alert.tool.name", func(d *event.Details) string { return d.Tool }),
		str("alert.dismissed_reason", func(d *event.Details) string { return d.Reason }),
		str("ref", func(d *event.Details) string { return d.Ref }),
		str("commit_oid", func(d *event.Details) string { return d.SHA }),
		str("alert.most_recent_instance.location.path", func(d *event.Details) string { return d.Path }),
		wantTargetType("code_scanning_alert"),
	}
	secret := []richCheck{
		number("alert.number"), url("alert.html_url"), state("alert.state"),
		str("alert.secret_type_display_name|alert.secret_type", func(d *event.Details) string { return d.SecretType }),
		wantTargetType("secret_scanning_alert"),
	}
	richChecks["secret_scanning_alert"] = append(slices.Clone(secret),
		str("alert.resolution", func(d *event.Details) string { return d.Reason }),
		richCheck{"the secret is never copied", func(t *testing.T, payload any, ev *event.Event) bool {
			s, _ := first1(payload, "alert.secret").(string)
			if s == "" {
				return false
			}
			b, err := event.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), s) {
				t.Errorf("event carries the secret")
			}
			return true
		}},
	)
	richChecks["secret_scanning_alert_location"] = append(slices.Clone(secret),
		str("location.details.path", func(d *event.Details) string { return d.Path }),
		wantInt("location.details.start_line", func(ev *event.Event) int64 { return int64(det(ev).Line) }),
		str("location.details.commit_sha", func(d *event.Details) string { return d.SHA }),
	)
	richChecks["repository_vulnerability_alert"] = []richCheck{
		title("alert.affected_package_name"),
		str("alert.affected_package_name", func(d *event.Details) string { return d.Package }),
		str("alert.affected_range", func(d *event.Details) string { return d.VulnerableRange }),
		str("alert.fixed_in", func(d *event.Details) string { return d.PatchedVersion }),
		str("alert.ghsa_id", func(d *event.Details) string { return d.GHSAID }),
		wantFold("alert.severity", func(ev *event.Event) string { return det(ev).Severity }),
		str("alert.dismiss_reason", func(d *event.Details) string { return d.Reason }),
		wantTargetType("repository_vulnerability_alert"),
	}
	advisory := func(p string) []richCheck {
		return []richCheck{
			title(p + ".summary"),
			str(p+".severity", func(d *event.Details) string { return d.Severity }),
			str(p+".ghsa_id", func(d *event.Details) string { return d.GHSAID }),
			str(p+".cve_id", func(d *event.Details) string { return d.CVEID }),
			str(p+".vulnerabilities[].package.name", func(d *event.Details) string { return d.Package }),
			str(p+".vulnerabilities[].package.ecosystem", func(d *event.Details) string { return d.Ecosystem }),
			str(p+".vulnerabilities[].vulnerable_version_range", func(d *event.Details) string { return d.VulnerableRange }),
			wantTargetType(p),
		}
	}
	richChecks["security_advisory"] = append(advisory("security_advisory"),
		str("security_advisory.vulnerabilities[].first_patched_version.identifier", func(d *event.Details) string { return d.PatchedVersion }))
	richChecks["repository_advisory"] = append(advisory("repository_advisory"), url("repository_advisory.html_url"))
	richChecks["label"] = []richCheck{title("label.name"), str("label.name", func(d *event.Details) string { return d.Label }), wantTargetType("label")}
	richChecks["milestone"] = []richCheck{title("milestone.title"), url("milestone.html_url"), number("milestone.number"),
		state("milestone.state"), wantTargetType("milestone")}
	team := []richCheck{title("team.name"), url("team.html_url"), str("team.name", func(d *event.Details) string { return d.Team }), wantTargetType("team")}
	richChecks["team"] = slices.Clone(team)
	richChecks["team_add"] = slices.Clone(team)
	richChecks["membership"] = append(slices.Clone(team), str("member.login", func(d *event.Details) string { return d.Member }))
	richChecks["member"] = append(richChecks["member"], title("member.login"), url("member.html_url"), wantTargetType("user"))
	richChecks["organization"] = []richCheck{
		str("membership.user.login", func(d *event.Details) string { return d.Member }),
		str("membership.role|invitation.role", func(d *event.Details) string { return d.Role }),
		str("invitation.login|invitation.email", func(d *event.Details) string { return d.Invitee }),
		title("membership.user.login|invitation.login|invitation.email|organization.login"),
		str("changes.login.from", func(d *event.Details) string { return d.Previous }),
	}
	richChecks["org_block"] = []richCheck{title("blocked_user.login"), url("blocked_user.html_url"),
		str("blocked_user.login", func(d *event.Details) string { return d.BlockedUser })}
	richChecks["deploy_key"] = []richCheck{title("key.title"), wantInt("key.id", func(ev *event.Event) int64 { return tgt(ev).ID }),
		wantTargetType("deploy_key")}
	richChecks["installation"] = []richCheck{url("installation.html_url"),
		str("installation.account.login", func(d *event.Details) string { return d.Account }), wantTargetType("installation"),
		{"repositories gained or lost", func(t *testing.T, payload any, ev *event.Event) bool {
			action, _ := first1(payload, "action").(string)
			repos := strings1(values(payload, "repositories[].full_name"))
			var added, removed []string
			switch action {
			case "created":
				added = repos
			case "deleted":
				removed = repos
			default:
				if len(repos) == 0 {
					return false
				}
			}
			if !slices.Equal(det(ev).RepositoriesAdded, added) || !slices.Equal(det(ev).RepositoriesRemoved, removed) {
				t.Errorf("%s: added %v removed %v, want %v %v", action, det(ev).RepositoriesAdded, det(ev).RepositoriesRemoved, added, removed)
			}
			return true
		}},
	}
	richChecks["installation_repositories"] = []richCheck{url("installation.html_url"),
		str("installation.account.login", func(d *event.Details) string { return d.Account }),
		wantList("repositories_added[].full_name", func(ev *event.Event) []string { return det(ev).RepositoriesAdded }),
		wantList("repositories_removed[].full_name", func(ev *event.Event) []string { return det(ev).RepositoriesRemoved }),
	}
	richChecks["installation_target"] = []richCheck{str("account.login", func(d *event.Details) string { return d.Account }),
		str("changes.login.from", func(d *event.Details) string { return d.Previous })}
	richChecks["gollum"] = []richCheck{
		wantList("pages[].title", func(ev *event.Event) []string {
			return names(det(ev).Pages, func(p event.WikiPage) string { return p.Title })
		}),
		wantList("pages[].html_url", func(ev *event.Event) []string {
			return names(det(ev).Pages, func(p event.WikiPage) string { return p.URL })
		}),
		wantList("pages[].action", func(ev *event.Event) []string {
			return names(det(ev).Pages, func(p event.WikiPage) string { return p.Action })
		}),
	}
	pkg := func(p string) []richCheck {
		return []richCheck{title(p + ".name"), str(p+".name", func(d *event.Details) string { return d.Package }),
			str(p+".package_version.version|"+p+".package_version.name", func(d *event.Details) string { return d.PackageVersion }),
			url(p + ".package_version.html_url|" + p + ".html_url"), wantTargetType("package")}
	}
	richChecks["package"] = pkg("package")
	richChecks["registry_package"] = pkg("registry_package")
	richChecks["project"] = []richCheck{title("project.name"), url("project.html_url"), number("project.number"), state("project.state")}
	richChecks["project_column"] = []richCheck{title("project_column.name")}
	richChecks["project_card"] = []richCheck{wantPrefix("project_card.note", func(ev *event.Event) string { return tgt(ev).Body })}
	richChecks["projects_v2"] = []richCheck{title("projects_v2.title"), number("projects_v2.number")}
	richChecks["projects_v2_item"] = []richCheck{str("projects_v2_item.content_type", func(d *event.Details) string { return d.ContentType })}
	richChecks["projects_v2_status_update"] = []richCheck{str("projects_v2_status_update.status", func(d *event.Details) string { return d.Status })}
	richChecks["merge_group"] = []richCheck{str("merge_group.head_sha", func(d *event.Details) string { return d.SHA }),
		str("merge_group.base_ref", func(d *event.Details) string { return d.Ref }), str("reason", func(d *event.Details) string { return d.Reason })}
	richChecks["meta"] = []richCheck{wantInt("hook_id", func(ev *event.Event) int64 { return tgt(ev).ID }), wantTargetType("hook")}
	richChecks["sponsorship"] = []richCheck{title("sponsorship.sponsorable.login"),
		str("sponsorship.sponsor.login", func(d *event.Details) string { return d.Sponsor }),
		str("sponsorship.tier.name", func(d *event.Details) string { return d.Tier }),
		str("changes.tier.from.name", func(d *event.Details) string { return d.Previous })}
	richChecks["marketplace_purchase"] = []richCheck{title("marketplace_purchase.plan.name"),
		str("marketplace_purchase.account.login", func(d *event.Details) string { return d.Account }),
		str("previous_marketplace_purchase.plan.name", func(d *event.Details) string { return d.Previous })}
	richChecks["deployment"] = []richCheck{title("deployment.environment"),
		str("deployment.environment", func(d *event.Details) string { return d.Environment }),
		str("deployment.ref", func(d *event.Details) string { return d.Ref }),
		str("deployment.sha", func(d *event.Details) string { return d.SHA }),
		wantInt("deployment.id", func(ev *event.Event) int64 { return tgt(ev).ID }), wantTargetType("deployment")}
	richChecks["deployment_protection_rule"] = []richCheck{str("environment", func(d *event.Details) string { return d.Environment }),
		str("event", func(d *event.Details) string { return d.Trigger }), wantTargetType("deployment")}
	richChecks["deployment_review"] = []richCheck{url("workflow_run.html_url"),
		str("environment", func(d *event.Details) string { return d.Environment }),
		prefix("comment", func(d *event.Details) string { return d.CommentBody }), wantTargetType("workflow_run")}
	richChecks["check_run"] = append(richChecks["check_run"],
		str("check_run.details_url", func(d *event.Details) string { return d.TargetURL }),
		str("requested_action.identifier", func(d *event.Details) string { return d.RequestedAction }),
		prefix("check_run.output.title", func(d *event.Details) string { return d.Description }),
		wantInts("check_run.pull_requests[].number", func(ev *event.Event) []int { return det(ev).PullRequests }))
	richChecks["check_suite"] = append(richChecks["check_suite"],
		wantInts("check_suite.pull_requests[].number", func(ev *event.Event) []int { return det(ev).PullRequests }))
	richChecks["workflow_run"] = append(richChecks["workflow_run"],
		wantInts("workflow_run.pull_requests[].number", func(ev *event.Event) []int { return det(ev).PullRequests }))
	richChecks["pull_request_review_thread"] = []richCheck{
		prefix("thread.comments[].body", func(d *event.Details) string { return d.CommentBody }),
		str("thread.comments[].html_url", func(d *event.Details) string { return d.CommentURL }),
		str("thread.comments[].path", func(d *event.Details) string { return d.Path }),
		number("pull_request.number"), wantTargetType("pull_request")}
	richChecks["repository_ruleset"] = []richCheck{title("repository_ruleset.name"),
		url("repository_ruleset._links.html.href"),
		str("repository_ruleset.enforcement", func(d *event.Details) string { return d.Status })}
	richChecks["branch_protection_rule"] = []richCheck{title("rule.name"), wantTargetType("branch_protection_rule")}
	richChecks["sub_issues"] = []richCheck{title("parent_issue.title"), number("parent_issue.number"),
		wantString("sub_issue.title", func(ev *event.Event) string {
			if r := det(ev).Related; r != nil {
				return r.Title
			}
			return ""
		})}
	richChecks["workflow_dispatch"] = []richCheck{str("workflow", func(d *event.Details) string { return d.WorkflowName }),
		str("ref", func(d *event.Details) string { return d.Ref }), title("workflow")}
	richChecks["repository_dispatch"] = []richCheck{str("action", func(d *event.Details) string { return d.Trigger }),
		str("branch", func(d *event.Details) string { return d.Ref })}
	richChecks["page_build"] = []richCheck{str("build.status", func(d *event.Details) string { return d.Status }),
		str("build.commit", func(d *event.Details) string { return d.SHA })}
	richChecks["repository_import"] = []richCheck{str("status", func(d *event.Details) string { return d.Status })}
	richChecks["custom_property"] = []richCheck{title("definition.property_name")}
	richChecks["custom_property_values"] = []richCheck{
		wantList("new_property_values[].property_name", func(ev *event.Event) []string { return det(ev).ChangedFields })}
	richChecks["personal_access_token_request"] = []richCheck{
		str("personal_access_token_request.owner.login", func(d *event.Details) string { return d.Member })}
	richChecks["secret_scanning_scan"] = []richCheck{str("type", func(d *event.Details) string { return d.ScanType })}
	richChecks["repository"] = append(richChecks["repository"],
		str("changes.repository.name.from", func(d *event.Details) string { return d.Previous }))
	richChecks["discussion"] = append(richChecks["discussion"],
		str("changes.category.from.name|changes.title.from", func(d *event.Details) string { return d.Previous }),
		prefix("answer.body", func(d *event.Details) string { return d.CommentBody }))
}

// commonChecks apply to every event of the corpus.
var commonChecks = []richCheck{
	wantString("repository.html_url", func(ev *event.Event) string { return repo(ev).URL }),
	wantString("repository.default_branch", func(ev *event.Event) string { return repo(ev).DefaultBranch }),
	wantBool("repository.private", func(ev *event.Event) *bool { return ptr(repo(ev).Private) }),
	wantString("sender.login", func(ev *event.Event) string { return ev.Data.Actor.Login }),
	wantString("sender.type", func(ev *event.Event) string { return ev.Data.Actor.Type }),
	wantString("organization.login", func(ev *event.Event) string { return ev.Data.Organization }),
	{"bot", func(t *testing.T, payload any, ev *event.Event) bool {
		login, _ := first1(payload, "sender.login").(string)
		typ, _ := first1(payload, "sender.type").(string)
		if login == "" {
			return false
		}
		if want := typ == "Bot" || strings.HasSuffix(login, "[bot]"); ev.Data.Actor.Bot != want {
			t.Errorf("actor %q of type %q: bot = %v, want %v", login, typ, ev.Data.Actor.Bot, want)
		}
		return true
	}},
	{"source", func(t *testing.T, payload any, ev *event.Event) bool {
		want, _ := first1(payload, "repository.html_url|organization.html_url").(string)
		if want == "" {
			return false
		}
		if ev.Source != want {
			t.Errorf("source = %q, want %q", ev.Source, want)
		}
		return true
	}},
}

// TestRichFields normalizes the hand-written fixtures and, when present,
// every payload of the corpus, and checks each rich field against the
// payload. With the corpus present, every check must apply to at least one
// payload, so that a misspelt path cannot make it pass vacuously.
func TestRichFields(t *testing.T) {
	t.Parallel()
	applied := map[string]int{}
	seen := map[string]bool{}
	run := func(t *testing.T, name, eventName string, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var payload any
		if err := dec.Decode(&payload); err != nil {
			t.Fatalf("decoding payload: %v", err)
		}
		d := delivery.Delivery{Event: eventName, ID: "rich-" + name, ReceivedAt: received, Body: body}
		ev := normalizeOne(t, d)
		seen[eventName] = true
		for _, c := range commonChecks {
			if c.check(t, payload, &ev) {
				applied["*/"+c.name]++
			}
		}
		for _, c := range richChecks[eventName] {
			if c.check(t, payload, &ev) {
				applied[eventName+"/"+c.name]++
			}
		}
	}
	t.Run("fixtures", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures: %v", err)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			t.Run(name, func(t *testing.T) {
				d := fixture(t, name)
				run(t, name, d.Event, d.Body)
			})
		}
	})
	corpusRan := false
	t.Run("corpus", func(t *testing.T) {
		dir := corpus.Dir(t)
		corpusRan = true
		for i, ent := range readIndex(t, dir) {
			t.Run(ent.file, func(t *testing.T) {
				body, err := os.ReadFile(filepath.Join(dir, ent.file))
				if err != nil {
					t.Fatal(err)
				}
				run(t, fmt.Sprint(i), ent.event, body)
			})
		}
	})
	if !corpusRan {
		return
	}
	for name, checks := range richChecks {
		if !seen[name] {
			t.Errorf("no payload of %s", name)
			continue
		}
		for _, c := range checks {
			if applied[name+"/"+c.name] == 0 {
				t.Errorf("%s: check %q applied to no payload", name, c.name)
			}
		}
	}
	for _, c := range commonChecks {
		if applied["*/"+c.name] == 0 {
			t.Errorf("common check %q applied to no payload", c.name)
		}
	}
}

func tgt(ev *event.Event) *event.Target {
	if ev.Data.Target == nil {
		return &event.Target{}
	}
	return ev.Data.Target
}

func det(ev *event.Event) *event.Details {
	if ev.Data.Details == nil {
		return &event.Details{}
	}
	return ev.Data.Details
}

func repo(ev *event.Event) *event.Repository {
	if ev.Data.Repository == nil {
		return &event.Repository{}
	}
	return ev.Data.Repository
}

// values walks path through a decoded JSON value and returns the values
// other than null and "" it reaches, for the first alternative that reaches
// any.
func values(v any, path string) []any {
	for alt := range strings.SplitSeq(path, "|") {
		if out := walk(v, strings.Split(alt, ".")); len(out) > 0 {
			return out
		}
	}
	return nil
}

func walk(v any, parts []string) []any {
	if v == nil || v == "" {
		return nil
	}
	if len(parts) == 0 {
		return []any{v}
	}
	name, each := strings.CutSuffix(parts[0], "[]")
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	next := obj[name]
	if !each {
		return walk(next, parts[1:])
	}
	arr, _ := next.([]any)
	var out []any
	for _, el := range arr {
		out = append(out, walk(el, parts[1:])...)
	}
	return out
}

func first1(v any, path string) any {
	if vs := values(v, path); len(vs) > 0 {
		return vs[0]
	}
	return nil
}

// strings1 returns the non-empty strings among vs.
func strings1(vs []any) []string {
	var out []string
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func wantString(path string, got func(*event.Event) string) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want, _ := first1(payload, path).(string)
		if want == "" {
			return false
		}
		if g := got(ev); g != want {
			t.Errorf("%s: event has %q, payload %q", path, g, want)
		}
		return true
	}}
}

func wantFold(path string, got func(*event.Event) string) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want, _ := first1(payload, path).(string)
		if want == "" {
			return false
		}
		if g := got(ev); !strings.EqualFold(g, want) {
			t.Errorf("%s: event has %q, payload %q", path, g, want)
		}
		return true
	}}
}

// wantPrefix checks a text the normalizer may cut: the event's text must be
// non-empty and start the payload's.
func wantPrefix(path string, got func(*event.Event) string) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want, _ := first1(payload, path).(string)
		if want == "" {
			return false
		}
		if g := strings.TrimSuffix(got(ev), "…"); g == "" || !strings.HasPrefix(want, g) {
			t.Errorf("%s: event has %q, payload %.60q", path, g, want)
		}
		return true
	}}
}

func wantInt(path string, got func(*event.Event) int64) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		n, ok := first1(payload, path).(json.Number)
		if !ok {
			return false
		}
		want, err := n.Int64()
		if err != nil || want == 0 {
			return false
		}
		if g := got(ev); g != want {
			t.Errorf("%s: event has %d, payload %d", path, g, want)
		}
		return true
	}}
}

func wantBool(path string, got func(*event.Event) *bool) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want, ok := first1(payload, path).(bool)
		if !ok {
			return false
		}
		if g := got(ev); g == nil || *g != want {
			t.Errorf("%s: event has %v, payload %v", path, g, want)
		}
		return true
	}}
}

func wantList(path string, got func(*event.Event) []string) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want := strings1(values(payload, path))
		if len(want) == 0 {
			return false
		}
		if g := got(ev); !slices.Equal(g, want) {
			t.Errorf("%s: event has %v, payload %v", path, g, want)
		}
		return true
	}}
}

func wantContains(path string, got func(*event.Event) []string) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		want, _ := first1(payload, path).(string)
		if want == "" {
			return false
		}
		if g := got(ev); !slices.Contains(g, want) {
			t.Errorf("%s: event has %v, want %q among them", path, g, want)
		}
		return true
	}}
}

// wantTime checks that the event's time is the payload's own timestamp.
func wantTime(path string) richCheck {
	return richCheck{"time " + path, func(t *testing.T, payload any, ev *event.Event) bool {
		var want time.Time
		switch v := first1(payload, path).(type) {
		case string:
			w, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return false
			}
			want = w
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return false
			}
			want = time.Unix(n, 0)
		default:
			return false
		}
		if !ev.Time.Equal(want) {
			t.Errorf("time = %s, payload's %s is %s", ev.Time.Format(time.RFC3339), path, want.Format(time.RFC3339))
		}
		return true
	}}
}

// wantTargetType checks the target's type: typ, or one of "a|b".
func wantTargetType(typ string) richCheck {
	return richCheck{"target type", func(t *testing.T, payload any, ev *event.Event) bool {
		want := typ
		if typ == "issue" && first1(payload, "issue.pull_request") != nil {
			want = "pull_request"
		}
		if ev.Data.Target == nil || !slices.Contains(strings.Split(want, "|"), ev.Data.Target.Type) {
			t.Errorf("target = %+v, want type %q", ev.Data.Target, want)
		}
		return true
	}}
}

func wantInts(path string, got func(*event.Event) []int) richCheck {
	return richCheck{path, func(t *testing.T, payload any, ev *event.Event) bool {
		var want []int
		for _, v := range values(payload, path) {
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					want = append(want, int(i))
				}
			}
		}
		if len(want) == 0 {
			return false
		}
		if g := got(ev); !slices.Equal(g, want[:min(len(want), maxListed)]) {
			t.Errorf("%s: event has %v, payload %v", path, g, want)
		}
		return true
	}}
}
