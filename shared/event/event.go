// Package event defines ghnotify's canonical event: a CloudEvents 1.0 JSON
// event (structured mode) whose data holds the normalized fields of one
// GitHub webhook delivery. The normalizer produces it, the Slack sink and any
// other consumer read it from the events stream.
package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// SpecVersion is the CloudEvents specification version ghnotify emits.
const SpecVersion = "1.0"

// ContentType is the datacontenttype of every canonical event.
const ContentType = "application/json"

// TypePrefix prefixes every CloudEvents type: com.github.<event>.<verb>.
const TypePrefix = "com.github."

// Event is one canonical event in CloudEvents 1.0 structured JSON form.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            Data      `json:"data"`
}

// Data holds the normalized fields of a GitHub event. Fields that do not
// apply to an event's kind are left empty and omitted from JSON.
type Data struct {
	// Kind is "<event>.<verb>", for example "pull_request.merged".
	Kind string `json:"kind"`
	// Event is GitHub's event name (the X-GitHub-Event header).
	Event string `json:"event"`
	// Action is GitHub's own action field, empty where the payload has none.
	Action string `json:"action,omitempty"`
	// DeliveryID is GitHub's X-GitHub-Delivery.
	DeliveryID string `json:"delivery_id"`
	// HookID is GitHub's X-GitHub-Hook-ID.
	HookID string `json:"hook_id,omitempty"`
	// Organization is the login of the organization, where the payload names one.
	Organization string `json:"organization,omitempty"`
	// Repository is the repository the event happened in, if any.
	Repository *Repository `json:"repository,omitempty"`
	// Actor is who caused the event (GitHub's sender).
	Actor Actor `json:"actor"`
	// Target is the issue, pull request, discussion, release, workflow run
	// or other object the event is about, if any.
	Target *Target `json:"target,omitempty"`
	// Details carries kind-specific fields.
	Details *Details `json:"details,omitempty"`
}

// Repository identifies a GitHub repository.
type Repository struct {
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	URL           string `json:"url"`
	Private       bool   `json:"private"`
	DefaultBranch string `json:"default_branch,omitempty"`
}

// Actor is a GitHub user, bot or organization that caused an event.
type Actor struct {
	Login string `json:"login"`
	Type  string `json:"type,omitempty"`
	Bot   bool   `json:"bot"`
	URL   string `json:"url,omitempty"`
}

// Target is the object an event is about: the issue, pull request, alert,
// label, team, user... that the event's verb happened to. Events whose
// object is the repository itself (push, star, watch, public, repository,
// repository_dispatch, repository_import, page_build, ping,
// branch_protection_configuration, security_and_analysis,
// custom_property_values, secret_scanning_scan) or the sender
// (github_app_authorization) have no target; layouts then link the
// repository. The type names the object:
//
//   - issue, pull_request, discussion, release, commit, workflow_run,
//     workflow_job, check_run, check_suite, deployment: as GitHub names them;
//   - branch, tag: the ref a create or delete event is about (Title is the
//     short ref name; no URL for a deleted ref);
//   - dependabot_alert, code_scanning_alert, secret_scanning_alert,
//     repository_vulnerability_alert: the alert (Number, URL, State, Title
//     the advisory summary, rule description or secret type);
//   - security_advisory, repository_advisory: the advisory (Title its summary);
//   - label, milestone, team, user (a member, an invited or blocked user),
//     deploy_key, hook, installation, project, project_card, project_column,
//     project_item, project_status_update, package, sponsorship,
//     marketplace_plan, repository_ruleset, branch_protection_rule,
//     custom_property, merge_group, wiki_page, workflow, fork,
//     personal_access_token_request: the long-tail objects, named by Title
//     (their name, title or login) and linked by URL where GitHub has a page;
//   - for event types ghnotify does not know, the payload's member holding
//     the object (the one named like the event, else the first object that
//     is not the repository, sender, organization, installation or
//     enterprise).
type Target struct {
	// Type names the object (see above).
	Type string `json:"type"`
	// Number is the issue, pull request, discussion, milestone, alert or
	// project number, or a workflow run's run number.
	Number int `json:"number,omitempty"`
	// ID is GitHub's numeric id of the object.
	ID int64 `json:"id,omitempty"`
	// Title is the object's title, name or login: what a reader calls it.
	Title string `json:"title,omitempty"`
	// URL is the object's web page (never an API URL).
	URL string `json:"url,omitempty"`
	// State is the object's state after the event (open, closed, fixed,
	// dismissed, resolved, completed, success, ...).
	State string `json:"state,omitempty"`
	// Body is the object's text (issue body, release notes, card note),
	// cut at 4 KiB.
	Body string `json:"body,omitempty"`
	// Labels are the names of the object's labels.
	Labels []string `json:"labels,omitempty"`
	// Author is the login of who created the object.
	Author string `json:"author,omitempty"`
	// Assignees are the logins assigned to the object.
	Assignees []string `json:"assignees,omitempty"`
	// Draft is set for pull requests, issues marked draft and releases.
	Draft *bool `json:"draft,omitempty"`
	// Merged is set for pull requests.
	Merged *bool `json:"merged,omitempty"`
	// BaseBranch is a pull request's base branch.
	BaseBranch string `json:"base_branch,omitempty"`
	// HeadBranch is a pull request's head branch, or the branch a workflow
	// run, job or check ran on.
	HeadBranch string `json:"head_branch,omitempty"`
}

// Details holds the kind-specific fields of an event. Lists are capped (see
// each field); a count next to a capped list gives the full number, so a
// layout can say "and N more".
type Details struct {
	// ReviewState is a pull request review's state: approved,
	// changes_requested, commented or dismissed.
	ReviewState string `json:"review_state,omitempty"`
	// ReviewURL links to the pull request review.
	ReviewURL string `json:"review_url,omitempty"`
	// Reviewer is the login of the review's author: on a dismissed review,
	// whose review the actor dismissed.
	Reviewer string `json:"reviewer,omitempty"`
	// RequestedReviewers are the logins asked to review (the one named by a
	// review_requested action, else all of the pull request's), or the
	// reviewers a deployment review waits for.
	RequestedReviewers []string `json:"requested_reviewers,omitempty"`
	// RequestedTeams are the slugs of the teams asked to review, as above.
	RequestedTeams []string `json:"requested_teams,omitempty"`

	// CommentBody is the text of the comment the event is about (issue,
	// pull request review, commit, discussion comment; a review's body; a
	// deployment review's comment; a discussion's answer; an alert's
	// dismissal comment), cut at 4 KiB.
	CommentBody string `json:"comment_body,omitempty"`
	// CommentURL links to that comment.
	CommentURL string `json:"comment_url,omitempty"`

	// Label is the label added or removed by a labeled or unlabeled action,
	// or the label a label event is about.
	Label string `json:"label,omitempty"`
	// Milestone is the title of the milestone an issue or pull request was
	// added to or removed from.
	Milestone string `json:"milestone,omitempty"`

	// Ref is the full ref of a push (refs/heads/main), or the ref named by
	// a create, delete, deployment, workflow dispatch or code scanning alert.
	Ref string `json:"ref,omitempty"`
	// RefName is Ref without refs/heads/ or refs/tags/: the branch or tag name.
	RefName string `json:"ref_name,omitempty"`
	// RefType is branch or tag (for pushes, read from the ref).
	RefType string `json:"ref_type,omitempty"`
	// Before is the commit the ref pointed to before a push or synchronize.
	Before string `json:"before,omitempty"`
	// After is the commit the ref points to after a push or synchronize.
	After string `json:"after,omitempty"`
	// Forced is true for a force push.
	Forced bool `json:"forced,omitempty"`
	// Created is true for a push that created the ref.
	Created bool `json:"created,omitempty"`
	// Deleted is true for a push that deleted the ref.
	Deleted bool `json:"deleted,omitempty"`
	// CompareURL links to the comparison of Before and After.
	CompareURL string `json:"compare_url,omitempty"`
	// CommitCount is the number of commits the push payload lists, all of
	// them, while Commits holds at most 20.
	CommitCount int `json:"commit_count,omitempty"`
	// HeadCommit is the newest commit of a push.
	HeadCommit *Commit `json:"head_commit,omitempty"`
	// Commits are the pushed commits, oldest first, at most 20.
	Commits []Commit `json:"commits,omitempty"`
	// ChangedPaths are the sorted distinct paths the pushed commits touch,
	// at most 100.
	ChangedPaths []string `json:"changed_paths,omitempty"`

	// TagName is a release's tag.
	TagName string `json:"tag_name,omitempty"`
	// Prerelease is true for a release marked as a pre-release.
	Prerelease bool `json:"prerelease,omitempty"`

	// WorkflowName is the workflow's name (workflow runs and jobs), the
	// checking app's name (check runs and suites) or the workflow file
	// (workflow dispatch).
	WorkflowName string `json:"workflow_name,omitempty"`
	// Status is the progress or outcome GitHub reports without a
	// conclusion: queued, in_progress, completed (runs, jobs, checks); a
	// commit status's or deployment status's state (success, failure,
	// error, pending, ...); a Pages build's or repository import's status;
	// a projects status update's status; a ruleset's enforcement.
	Status string `json:"status,omitempty"`
	// Conclusion is the outcome of a completed run, job, check or suite:
	// success, failure, cancelled, skipped, timed_out, action_required,
	// neutral, stale.
	Conclusion string `json:"conclusion,omitempty"`
	// Environment is a deployment's environment.
	Environment string `json:"environment,omitempty"`
	// SHA is the commit the event is about (pull request head, run, check,
	// status, deployment, commit comment, alert, merge group head).
	SHA string `json:"sha,omitempty"`
	// Context is a commit status's context.
	Context string `json:"context,omitempty"`
	// Description is a status's, deployment's or check's description or
	// output title, a Pages build's error, or the description of the
	// repository, label, milestone, team or property the event is about,
	// cut at 4 KiB.
	Description string `json:"description,omitempty"`
	// Trigger is the event that started a workflow run or a deployment
	// protection rule check (push, pull_request, ...), or a repository
	// dispatch's event type.
	Trigger string `json:"trigger,omitempty"`
	// TargetURL links to the details of a commit status, deployment status
	// or check run.
	TargetURL string `json:"target_url,omitempty"`
	// RequestedAction is the identifier of the button a user pressed on a
	// check run (requested_action).
	RequestedAction string `json:"requested_action,omitempty"`
	// PullRequests are the numbers of the pull requests a check run, check
	// suite or workflow run belongs to, at most 20.
	PullRequests []int `json:"pull_requests,omitempty"`

	// StarCount is the repository's star count after a star, watch or fork.
	StarCount int `json:"star_count,omitempty"`
	// ForkName is the full name of the new fork.
	ForkName string `json:"fork_name,omitempty"`
	// ForkURL links to the new fork.
	ForkURL string `json:"fork_url,omitempty"`

	// Member is the login of the user added, removed, edited or invited as
	// a collaborator, organization member or team member, or of the owner
	// of a personal access token request.
	Member string `json:"member,omitempty"`
	// Permission is a collaborator's new permission or role name, a team's
	// permission on a repository, or a deploy key's access (read-only,
	// read-write).
	Permission string `json:"permission,omitempty"`
	// Role is an organization member's or invitation's role (admin,
	// member, ...).
	Role string `json:"role,omitempty"`
	// Team is the name of the team the event is about (team, team_add,
	// membership).
	Team string `json:"team,omitempty"`
	// Invitee is the login, else the email address, of the person invited
	// to an organization.
	Invitee string `json:"invitee,omitempty"`
	// BlockedUser is the login of the user an organization blocked or
	// unblocked.
	BlockedUser string `json:"blocked_user,omitempty"`
	// Account is the login of the account a GitHub App or Marketplace plan
	// is installed on or bought for.
	Account string `json:"account,omitempty"`
	// RepositoriesAdded are the full names of the repositories added to an
	// installation, at most 20.
	RepositoriesAdded []string `json:"repositories_added,omitempty"`
	// RepositoriesAddedCount is the full number of repositories added.
	RepositoriesAddedCount int `json:"repositories_added_count,omitempty"`
	// RepositoriesRemoved are the full names of the repositories removed
	// from an installation, at most 20.
	RepositoriesRemoved []string `json:"repositories_removed,omitempty"`
	// RepositoriesRemovedCount is the full number of repositories removed.
	RepositoriesRemovedCount int `json:"repositories_removed_count,omitempty"`

	// Previous is the value before a rename or edit: the old name of a
	// repository, organization, label, team, milestone or installation
	// account; the old title of an issue, pull request or discussion; the
	// previous owner of a transferred repository; the previous plan or
	// sponsorship tier; the previous discussion category.
	Previous string `json:"previous,omitempty"`
	// ChangedFields names what an edited action changed (title, body,
	// name, ...), the custom properties whose values changed, the project
	// field an item edit changed, or the security features turned on or off.
	ChangedFields []string `json:"changed_fields,omitempty"`

	// Severity is a security event's severity: critical, high, medium or
	// low (advisories and Dependabot alerts), or a code scanning rule's
	// security severity level, else its severity (error, warning, note).
	Severity string `json:"severity,omitempty"`
	// Package is the affected package of an alert or advisory, or the
	// package a package or registry_package event is about.
	Package string `json:"package,omitempty"`
	// Ecosystem is that package's ecosystem or type (npm, pip, maven,
	// container, ...).
	Ecosystem string `json:"ecosystem,omitempty"`
	// PackageVersion is the version a package event published or updated.
	PackageVersion string `json:"package_version,omitempty"`
	// GHSAID is the GitHub Security Advisory identifier (GHSA-xxxx-xxxx-xxxx).
	GHSAID string `json:"ghsa_id,omitempty"`
	// CVEID is the CVE identifier, where the advisory has one.
	CVEID string `json:"cve_id,omitempty"`
	// VulnerableRange is the range of vulnerable versions (< 4.17.21).
	VulnerableRange string `json:"vulnerable_range,omitempty"`
	// PatchedVersion is the first version with the fix.
	PatchedVersion string `json:"patched_version,omitempty"`
	// Rule is a code scanning alert's rule id.
	Rule string `json:"rule,omitempty"`
	// Tool is the code scanning tool that raised the alert (CodeQL, ...).
	Tool string `json:"tool,omitempty"`
	// SecretType is a secret scanning alert's secret type, as GitHub
	// displays it. The secret itself is never copied.
	SecretType string `json:"secret_type,omitempty"`
	// Reason is why an alert was dismissed or resolved (false_positive,
	// won't fix, revoked, ...), why a merge group was destroyed, or why a
	// deployment review or protection rule asks for action.
	Reason string `json:"reason,omitempty"`
	// Line is the line of Path a secret was found at or a commit comment is on.
	Line int `json:"line,omitempty"`
	// ScanType is a secret scanning scan's type (backfill, custom-pattern-backfill, ...).
	ScanType string `json:"scan_type,omitempty"`

	// Pages are the wiki pages a gollum event created or edited, at most 20.
	Pages []WikiPage `json:"pages,omitempty"`
	// PageCount is the full number of wiki pages the gollum event lists.
	PageCount int `json:"page_count,omitempty"`

	// Related is the other object of an event about two: the sub-issue
	// added to or removed from a parent issue, or the parent issue a
	// sub-issue was attached to or detached from.
	Related *Link `json:"related,omitempty"`
	// ContentType is what a projects (v2) item holds: Issue, PullRequest or
	// DraftIssue.
	ContentType string `json:"content_type,omitempty"`

	// Sponsorships.

	// Sponsor is the login of a sponsorship's sponsor.
	Sponsor string `json:"sponsor,omitempty"`
	// Tier is a sponsorship tier's or Marketplace plan's name.
	Tier string `json:"tier,omitempty"`

	// Zen is a ping's GitHub zen line.
	Zen string `json:"zen,omitempty"`

	// Assignee is the user an assigned or unassigned action is about.
	Assignee string `json:"assignee,omitempty"`
	// Path is the file a pull request review comment, commit comment,
	// review thread, code scanning alert or secret location is on, or a
	// Dependabot alert's manifest.
	Path string `json:"path,omitempty"`
	// Category is a discussion's category.
	Category string `json:"category,omitempty"`
}

// WikiPage is one wiki page a gollum event reports.
type WikiPage struct {
	// Title is the page's title.
	Title string `json:"title"`
	// Action is created or edited.
	Action string `json:"action,omitempty"`
	// URL is the page's web address.
	URL string `json:"url,omitempty"`
}

// Link names another object an event mentions.
type Link struct {
	// Type names the object, as Target.Type does.
	Type string `json:"type"`
	// Number is the object's number, where it has one.
	Number int `json:"number,omitempty"`
	// Title is the object's title or name.
	Title string `json:"title,omitempty"`
	// URL is the object's web page.
	URL string `json:"url,omitempty"`
	// Repository is the full name of the object's repository.
	Repository string `json:"repository,omitempty"`
}

// Commit summarizes one pushed commit.
type Commit struct {
	ID       string   `json:"id"`
	Message  string   `json:"message"`
	URL      string   `json:"url,omitempty"`
	Author   string   `json:"author,omitempty"`
	Added    []string `json:"added,omitempty"`
	Removed  []string `json:"removed,omitempty"`
	Modified []string `json:"modified,omitempty"`
}

// ID returns the deterministic CloudEvents id of the event of the given kind
// produced from a delivery: the same delivery always yields the same id, so
// JetStream's Nats-Msg-Id dedupe drops a republished copy.
func ID(deliveryID, kind string) string {
	return deliveryID + "/" + kind
}

// Type returns the CloudEvents type for a kind: "com.github." + kind.
func Type(kind string) string {
	return TypePrefix + kind
}

// Validate reports whether e carries the fields every canonical event must have.
func (e *Event) Validate() error {
	switch {
	case e.SpecVersion != SpecVersion:
		return fmt.Errorf("specversion %q is not %q", e.SpecVersion, SpecVersion)
	case e.ID == "":
		return fmt.Errorf("id is empty")
	case e.Source == "":
		return fmt.Errorf("source is empty")
	case e.Type == "":
		return fmt.Errorf("type is empty")
	case e.Data.Kind == "":
		return fmt.Errorf("data.kind is empty")
	case e.Data.Event == "":
		return fmt.Errorf("data.event is empty")
	case e.Data.DeliveryID == "":
		return fmt.Errorf("data.delivery_id is empty")
	}
	return nil
}

// Marshal encodes e as CloudEvents structured JSON.
func Marshal(e *Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", e.ID, err)
	}
	return b, nil
}

// Unmarshal decodes a CloudEvents structured JSON event and validates it.
func Unmarshal(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("validating event: %w", err)
	}
	return &e, nil
}
