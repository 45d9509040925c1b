package normalize

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/google/go-github/v93/github"
)

// rich fills target, details, subject and time for the event types ghnotify
// describes in full. Other types keep the common fields.
func (b *builder) rich(typed any) {
	switch e := typed.(type) {
	case *github.IssuesEvent:
		b.issue(e.GetIssue())
		b.details.Label = e.GetLabel().GetName()
		b.details.Assignee = e.GetAssignee().GetLogin()
		b.details.Milestone = e.GetMilestone().GetTitle()
	case *github.IssueCommentEvent:
		b.issue(e.GetIssue())
		c := e.GetComment()
		b.details.CommentBody = truncate(c.GetBody())
		b.details.CommentURL = c.GetHTMLURL()
		b.when = first(c.GetUpdatedAt().Time, c.GetCreatedAt().Time)
	case *github.PullRequestEvent:
		b.pullRequest(e.GetPullRequest())
		if e.GetNumber() != 0 && b.target != nil && b.target.Number == 0 {
			b.target.Number = e.GetNumber()
			b.subject = b.numberSubject(e.GetNumber())
		}
		b.details.Label = e.GetLabel().GetName()
		b.details.Assignee = e.GetAssignee().GetLogin()
		b.details.Before = e.GetBefore()
		b.details.After = e.GetAfter()
		if r := e.GetRequestedReviewer().GetLogin(); r != "" {
			b.details.RequestedReviewers = []string{r}
		}
		if t := teamName(e.GetRequestedTeam()); t != "" {
			b.details.RequestedTeams = []string{t}
		}
		if strings.HasSuffix(e.GetAction(), "milestoned") {
			b.details.Milestone = e.GetPullRequest().GetMilestone().GetTitle()
		}
		if pr := e.GetPullRequest(); pr != nil && b.details.RequestedReviewers == nil && b.details.RequestedTeams == nil {
			b.details.RequestedReviewers = logins(pr.RequestedReviewers)
			b.details.RequestedTeams = teamNames(pr.RequestedTeams)
		}
	case *github.PullRequestReviewEvent:
		b.pullRequest(e.GetPullRequest())
		r := e.GetReview()
		b.details.ReviewState = strings.ToLower(r.GetState())
		b.details.ReviewURL = r.GetHTMLURL()
		b.details.Reviewer = r.GetUser().GetLogin()
		b.details.CommentBody = truncate(r.GetBody())
		b.when = first(r.GetSubmittedAt().Time, b.when)
	case *github.PullRequestReviewCommentEvent:
		b.pullRequest(e.GetPullRequest())
		c := e.GetComment()
		b.details.CommentBody = truncate(c.GetBody())
		b.details.CommentURL = c.GetHTMLURL()
		b.details.Path = c.GetPath()
		b.when = first(c.GetUpdatedAt().Time, c.GetCreatedAt().Time, b.when)
	case *github.PushEvent:
		b.push(e)
	case *github.CreateEvent:
		b.ref(e.GetRef(), e.GetRefType(), true)
	case *github.DeleteEvent:
		b.ref(e.GetRef(), e.GetRefType(), false)
	case *github.ReleaseEvent:
		b.release(e.GetRelease())
	case *github.StarEvent:
		b.details.StarCount = e.GetRepo().GetStargazersCount()
		b.when = e.GetStarredAt().Time
	case *github.WatchEvent:
		b.details.StarCount = e.GetRepo().GetStargazersCount()
	case *github.ForkEvent:
		f := e.GetForkee()
		b.details.ForkName = f.GetFullName()
		b.details.ForkURL = f.GetHTMLURL()
		if f.GetFullName() != "" {
			b.target = &event.Target{Type: "fork", ID: f.GetID(), Title: f.GetFullName(), URL: f.GetHTMLURL(), Author: f.GetOwner().GetLogin()}
		}
		b.details.StarCount = e.GetRepo().GetStargazersCount()
		b.when = first(f.GetCreatedAt().Time)
	case *github.WorkflowRunEvent:
		b.workflowRun(e.GetWorkflowRun(), e.GetWorkflow())
	case *github.WorkflowJobEvent:
		b.workflowJob(e.GetWorkflowJob())
	case *github.CheckRunEvent:
		b.checkRun(e.GetCheckRun())
		if ra := e.GetRequestedAction(); ra != nil {
			b.details.RequestedAction = ra.Identifier
		}
	case *github.CheckSuiteEvent:
		b.checkSuite(e.GetCheckSuite())
	case *github.DeploymentStatusEvent:
		b.deploymentStatus(e.GetDeployment(), e.GetDeploymentStatus())
	case *github.DiscussionEvent:
		b.discussion(e.GetDiscussion())
	case *github.DiscussionCommentEvent:
		b.discussion(e.GetDiscussion())
		c := e.GetComment()
		b.details.CommentBody = truncate(c.GetBody())
		b.details.CommentURL = c.GetHTMLURL()
		b.when = first(c.GetUpdatedAt().Time, c.GetCreatedAt().Time, b.when)
	case *github.MemberEvent:
		b.target = userTarget(e.GetMember())
		b.details.Member = e.GetMember().GetLogin()
		if ch := e.GetChanges(); ch != nil {
			b.details.Permission = ch.GetPermission().GetTo()
			if b.details.Permission == "" {
				b.details.Permission = ch.GetRoleName().GetTo()
			}
		}
	case *github.PublicEvent:
		// The common fields say it all: the repository became public.
	case *github.RepositoryEvent:
		r := e.GetRepo()
		b.details.Description = truncate(r.GetDescription())
		if b.action == "created" {
			b.when = r.GetCreatedAt().Time
		}
	case *github.StatusEvent:
		b.status(e)
	case *github.PingEvent:
		b.details.Zen = e.GetZen()
		b.when = e.GetHook().GetCreatedAt().Time
	default:
		b.longTail(typed)
	}
}

// ref fills the target and details of a create or delete event. A
// deleted ref has no page to link.
func (b *builder) ref(ref, refType string, exists bool) {
	b.details.Ref = ref
	b.details.RefType = refType
	b.setRefName(ref)
	b.subject = b.repoSubject("@", ref)
	if ref == "" {
		return
	}
	typ := refType
	if typ == "" {
		typ = "ref"
	}
	b.target = &event.Target{Type: typ, Title: b.details.RefName}
	if exists {
		b.target.URL = b.repoPage("tree", b.details.RefName)
	}
}

func (b *builder) issue(i *github.Issue) {
	if i == nil {
		return
	}
	typ := "issue"
	if i.IsPullRequest() {
		typ = "pull_request"
	}
	b.target = &event.Target{
		Type:      typ,
		Number:    i.GetNumber(),
		ID:        i.GetID(),
		Title:     i.GetTitle(),
		URL:       i.GetHTMLURL(),
		State:     i.GetState(),
		Body:      truncate(i.GetBody()),
		Labels:    labelNames(i.Labels),
		Author:    i.GetUser().GetLogin(),
		Assignees: logins(i.Assignees),
	}
	if i.Draft != nil {
		b.target.Draft = boolPtr(i.GetDraft())
	}
	b.subject = b.numberSubject(i.GetNumber())
	b.when = first(i.GetUpdatedAt().Time, i.GetCreatedAt().Time)
}

func (b *builder) pullRequest(pr *github.PullRequest) {
	if pr == nil {
		return
	}
	b.merged = pr.GetMerged()
	b.target = &event.Target{
		Type:       "pull_request",
		Number:     pr.GetNumber(),
		ID:         pr.GetID(),
		Title:      pr.GetTitle(),
		URL:        pr.GetHTMLURL(),
		State:      pr.GetState(),
		Body:       truncate(pr.GetBody()),
		Labels:     labelNames(pr.Labels),
		Author:     pr.GetUser().GetLogin(),
		Assignees:  logins(pr.Assignees),
		Draft:      boolPtr(pr.GetDraft()),
		Merged:     boolPtr(pr.GetMerged()),
		BaseBranch: pr.GetBase().GetRef(),
		HeadBranch: pr.GetHead().GetRef(),
	}
	b.details.SHA = pr.GetHead().GetSHA()
	b.subject = b.numberSubject(pr.GetNumber())
	b.when = first(pr.GetUpdatedAt().Time, pr.GetCreatedAt().Time)
}

func (b *builder) push(e *github.PushEvent) {
	d := &b.details
	d.Ref = e.GetRef()
	d.Before = e.GetBefore()
	d.After = e.GetAfter()
	d.Forced = e.GetForced()
	d.Created = e.GetCreated()
	d.Deleted = e.GetDeleted()
	d.CompareURL = e.GetCompare()
	switch ref := e.GetRef(); {
	case strings.HasPrefix(ref, "refs/heads/"):
		d.RefType = "branch"
	case strings.HasPrefix(ref, "refs/tags/"):
		d.RefType = "tag"
	}
	b.setRefName(e.GetRef())
	if hc := e.GetHeadCommit(); hc != nil {
		c := commit(hc)
		d.HeadCommit = &c
	}
	commits := slices.DeleteFunc(slices.Clone(e.Commits), func(c *github.HeadCommit) bool { return c == nil })
	// Every commit the payload lists counts; only maxCommits are copied.
	d.CommitCount = len(commits)
	for _, c := range commits {
		if len(d.Commits) == maxCommits {
			break
		}
		d.Commits = append(d.Commits, commit(c))
	}
	d.ChangedPaths = changedPaths(commits)
	b.subject = b.repoSubject("@", e.GetRef())
	b.when = first(e.GetHeadCommit().GetTimestamp().Time, e.GetRepo().GetPushedAt().Time)
}

func commit(c *github.HeadCommit) event.Commit {
	author := c.GetAuthor().GetLogin()
	if author == "" {
		author = c.GetAuthor().GetName()
	}
	id := c.GetID()
	if id == "" {
		id = c.GetSHA()
	}
	return event.Commit{
		ID:       id,
		Message:  truncate(c.GetMessage()),
		URL:      c.GetURL(),
		Author:   author,
		Added:    c.Added,
		Removed:  c.Removed,
		Modified: c.Modified,
	}
}

// changedPaths returns the sorted, distinct paths the commits touch, capped at maxPaths.
func changedPaths(commits []*github.HeadCommit) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ps []string) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, c := range commits {
		add(c.Added)
		add(c.Removed)
		add(c.Modified)
	}
	slices.Sort(out)
	if len(out) > maxPaths {
		out = out[:maxPaths]
	}
	return out
}

func (b *builder) release(r *github.RepositoryRelease) {
	if r == nil {
		return
	}
	title := r.GetName()
	if title == "" {
		title = r.GetTagName()
	}
	b.target = &event.Target{
		Type:   "release",
		ID:     r.GetID(),
		Title:  title,
		URL:    r.GetHTMLURL(),
		Body:   truncate(r.GetBody()),
		Author: r.GetAuthor().GetLogin(),
		Draft:  boolPtr(r.GetDraft()),
	}
	b.details.TagName = r.GetTagName()
	b.details.Prerelease = r.GetPrerelease()
	b.subject = b.repoSubject("@", r.GetTagName())
	b.when = first(r.GetPublishedAt().Time, r.CreatedAt.Time)
}

func (b *builder) workflowRun(r *github.WorkflowRun, w *github.Workflow) {
	if r == nil {
		return
	}
	title := r.GetDisplayTitle()
	if title == "" {
		title = r.GetName()
	}
	b.target = &event.Target{
		Type:       "workflow_run",
		Number:     r.GetRunNumber(),
		ID:         r.GetID(),
		Title:      title,
		URL:        r.GetHTMLURL(),
		State:      r.GetStatus(),
		Author:     r.GetActor().GetLogin(),
		HeadBranch: r.GetHeadBranch(),
	}
	name := r.GetName()
	if name == "" {
		name = w.GetName()
	}
	b.details.WorkflowName = name
	b.details.Status = r.GetStatus()
	b.details.Conclusion = r.GetConclusion()
	b.details.SHA = r.GetHeadSHA()
	b.details.Trigger = r.GetEvent()
	b.details.PullRequests = pullNumbers(r.PullRequests)
	b.subject = b.repoSubject("/actions/runs/", idString(r.GetID()))
	b.when = first(r.GetUpdatedAt().Time, r.GetRunStartedAt().Time, r.GetCreatedAt().Time)
}

func (b *builder) workflowJob(j *github.WorkflowJob) {
	if j == nil {
		return
	}
	b.target = &event.Target{
		Type:       "workflow_job",
		ID:         j.GetID(),
		Title:      j.GetName(),
		URL:        j.GetHTMLURL(),
		State:      j.GetStatus(),
		HeadBranch: j.GetHeadBranch(),
	}
	b.details.WorkflowName = j.GetWorkflowName()
	b.details.Status = j.GetStatus()
	b.details.Conclusion = j.GetConclusion()
	b.details.SHA = j.GetHeadSHA()
	b.subject = b.repoSubject("/actions/jobs/", idString(j.GetID()))
	b.when = first(j.GetCompletedAt().Time, j.GetStartedAt().Time, j.GetCreatedAt().Time)
}

func (b *builder) checkRun(c *github.CheckRun) {
	if c == nil {
		return
	}
	b.target = &event.Target{
		Type:       "check_run",
		ID:         c.GetID(),
		Title:      c.GetName(),
		URL:        c.GetHTMLURL(),
		State:      c.GetStatus(),
		HeadBranch: c.GetCheckSuite().GetHeadBranch(),
	}
	b.details.WorkflowName = c.GetApp().GetName()
	b.details.Status = c.GetStatus()
	b.details.Conclusion = c.GetConclusion()
	b.details.SHA = c.GetHeadSHA()
	b.details.Description = truncate(c.GetOutput().GetTitle())
	b.details.TargetURL = webOnly(c.GetDetailsURL())
	b.details.PullRequests = pullNumbers(c.PullRequests)
	b.subject = b.repoSubject("@", c.GetHeadSHA())
	b.when = first(c.GetCompletedAt().Time, c.GetStartedAt().Time)
}

func (b *builder) checkSuite(c *github.CheckSuite) {
	if c == nil {
		return
	}
	b.target = &event.Target{
		Type:       "check_suite",
		ID:         c.GetID(),
		Title:      c.GetApp().GetName(),
		URL:        b.repoPage("commit", c.GetHeadSHA(), "checks"),
		State:      c.GetStatus(),
		HeadBranch: c.GetHeadBranch(),
	}
	b.details.PullRequests = pullNumbers(c.PullRequests)
	b.details.WorkflowName = c.GetApp().GetName()
	b.details.Status = c.GetStatus()
	b.details.Conclusion = c.GetConclusion()
	b.details.SHA = c.GetHeadSHA()
	b.subject = b.repoSubject("@", c.GetHeadSHA())
	b.when = first(c.GetUpdatedAt().Time, c.GetCreatedAt().Time)
}

func (b *builder) deploymentStatus(dep *github.Deployment, st *github.DeploymentStatus) {
	if dep == nil && st == nil {
		return
	}
	url := st.GetTargetURL()
	if url == "" {
		url = st.GetLogURL()
	}
	page := url
	if page == "" {
		page = b.repoPage("deployments")
	}
	b.target = &event.Target{
		Type:  "deployment",
		ID:    dep.GetID(),
		Title: dep.GetEnvironment(),
		URL:   page,
		State: st.GetState(),
	}
	env := st.GetEnvironment()
	if env == "" {
		env = dep.GetEnvironment()
	}
	b.details.Environment = env
	b.details.Status = st.GetState()
	b.details.Description = truncate(st.GetDescription())
	b.details.SHA = dep.GetSHA()
	b.details.Ref = dep.GetRef()
	b.setRefName(dep.GetRef())
	b.details.TargetURL = url
	b.subject = b.repoSubject("/deployments/", idString(dep.GetID()))
	b.when = first(st.GetUpdatedAt().Time, st.GetCreatedAt().Time)
}

func (b *builder) discussion(d *github.Discussion) {
	if d == nil {
		return
	}
	b.target = &event.Target{
		Type:   "discussion",
		Number: d.GetNumber(),
		ID:     d.GetID(),
		Title:  d.GetTitle(),
		URL:    d.GetHTMLURL(),
		State:  d.GetState(),
		Body:   truncate(d.GetBody()),
		Author: d.GetUser().GetLogin(),
	}
	b.details.Category = d.GetDiscussionCategory().GetName()
	b.subject = b.numberSubject(d.GetNumber())
	b.when = first(d.GetUpdatedAt().Time, d.GetCreatedAt().Time)
}

func (b *builder) status(e *github.StatusEvent) {
	c := e.GetCommit()
	title, _, _ := strings.Cut(c.GetCommit().GetMessage(), "\n")
	author := c.GetAuthor().GetLogin()
	if author == "" {
		author = c.GetCommit().GetAuthor().GetName()
	}
	b.target = &event.Target{
		Type:   "commit",
		Title:  title,
		URL:    c.GetHTMLURL(),
		State:  e.GetState(),
		Author: author,
	}
	b.details.SHA = e.GetSHA()
	b.details.Status = e.GetState()
	b.details.Context = e.GetContext()
	b.details.Description = truncate(e.GetDescription())
	b.details.TargetURL = e.GetTargetURL()
	b.subject = b.repoSubject("@", e.GetSHA())
	b.when = first(e.GetUpdatedAt().Time, e.GetCreatedAt().Time)
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
