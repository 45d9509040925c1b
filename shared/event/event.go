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

// Target is the object an event is about.
type Target struct {
	// Type names the object: issue, pull_request, discussion, release,
	// workflow_run, workflow_job, check_run, check_suite, deployment,
	// comment, review, commit or another GitHub object name.
	Type       string   `json:"type"`
	Number     int      `json:"number,omitempty"`
	ID         int64    `json:"id,omitempty"`
	Title      string   `json:"title,omitempty"`
	URL        string   `json:"url,omitempty"`
	State      string   `json:"state,omitempty"`
	Body       string   `json:"body,omitempty"`
	Labels     []string `json:"labels,omitempty"`
	Author     string   `json:"author,omitempty"`
	Assignees  []string `json:"assignees,omitempty"`
	Draft      *bool    `json:"draft,omitempty"`
	Merged     *bool    `json:"merged,omitempty"`
	BaseBranch string   `json:"base_branch,omitempty"`
	HeadBranch string   `json:"head_branch,omitempty"`
}

// Details holds the kind-specific fields of an event.
type Details struct {
	// Pull request reviews and review requests.
	ReviewState        string   `json:"review_state,omitempty"`
	ReviewURL          string   `json:"review_url,omitempty"`
	RequestedReviewers []string `json:"requested_reviewers,omitempty"`
	RequestedTeams     []string `json:"requested_teams,omitempty"`

	// Comments (issue, pull request review, commit, discussion).
	CommentBody string `json:"comment_body,omitempty"`
	CommentURL  string `json:"comment_url,omitempty"`

	// Labels added or removed by a labeled or unlabeled action.
	Label string `json:"label,omitempty"`

	// Pushes, creates and deletes.
	Ref          string   `json:"ref,omitempty"`
	RefType      string   `json:"ref_type,omitempty"`
	Before       string   `json:"before,omitempty"`
	After        string   `json:"after,omitempty"`
	Forced       bool     `json:"forced,omitempty"`
	Created      bool     `json:"created,omitempty"`
	Deleted      bool     `json:"deleted,omitempty"`
	CompareURL   string   `json:"compare_url,omitempty"`
	CommitCount  int      `json:"commit_count,omitempty"`
	HeadCommit   *Commit  `json:"head_commit,omitempty"`
	Commits      []Commit `json:"commits,omitempty"`
	ChangedPaths []string `json:"changed_paths,omitempty"`

	// Releases.
	TagName    string `json:"tag_name,omitempty"`
	Prerelease bool   `json:"prerelease,omitempty"`

	// Workflows, checks, statuses and deployments.
	WorkflowName string `json:"workflow_name,omitempty"`
	Status       string `json:"status,omitempty"`
	Conclusion   string `json:"conclusion,omitempty"`
	Environment  string `json:"environment,omitempty"`
	SHA          string `json:"sha,omitempty"`
	Context      string `json:"context,omitempty"`
	Description  string `json:"description,omitempty"`

	// Stars, forks, membership and visibility.
	StarCount  int    `json:"star_count,omitempty"`
	ForkName   string `json:"fork_name,omitempty"`
	ForkURL    string `json:"fork_url,omitempty"`
	Member     string `json:"member,omitempty"`
	Permission string `json:"permission,omitempty"`

	// Ping.
	Zen string `json:"zen,omitempty"`

	// Assignee is the user an assigned or unassigned action is about.
	Assignee string `json:"assignee,omitempty"`
	// Path is the file a pull request review comment is on.
	Path string `json:"path,omitempty"`
	// Category is a discussion's category.
	Category string `json:"category,omitempty"`
	// Trigger is the event that started a workflow run (push, pull_request, ...).
	Trigger string `json:"trigger,omitempty"`
	// TargetURL links to the details of a commit status or deployment status.
	TargetURL string `json:"target_url,omitempty"`
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
