package normalize

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/google/go-github/v93/github"
)

// maxListed caps the lists copied into details other than commits and
// paths (wiki pages, repositories, pull request numbers).
const maxListed = 20

// longTail fills target and details for the event types beyond the core
// ones: what layouts need to say who did what to which object. It reports
// false for a type it does not handle.
func (b *builder) longTail(typed any) bool {
	switch e := typed.(type) {
	case *github.BranchProtectionRuleEvent:
		r := e.GetRule()
		b.target = &event.Target{Type: "branch_protection_rule", ID: r.GetID(), Title: r.GetName(),
			URL: b.repoPage("settings", "branch_protection_rules", idString(r.GetID()))}
		b.when = first(r.GetUpdatedAt().Time, r.GetCreatedAt().Time)
	case *github.BranchProtectionConfigurationEvent:
		// The repository is the object: protection was enabled or disabled.
	case *github.CodeScanningAlertEvent:
		b.codeScanningAlert(e)
	case *github.CommitCommentEvent:
		c := e.GetComment()
		sha := c.GetCommitID()
		b.target = &event.Target{Type: "commit", Title: shortSHA(sha), URL: b.repoPage("commit", sha), Author: c.GetUser().GetLogin()}
		b.details.SHA = sha
		b.details.CommentBody = truncate(c.GetBody())
		b.details.CommentURL = c.GetHTMLURL()
		b.details.Path = c.GetPath()
		b.details.Line = c.GetLine()
		b.subject = b.repoSubject("@", sha)
		b.when = first(c.GetUpdatedAt().Time, c.GetCreatedAt().Time)
	case *github.CustomPropertyEvent:
		p := e.GetDefinition()
		b.target = &event.Target{Type: "custom_property", Title: p.GetPropertyName()}
		b.details.Description = truncate(p.GetDescription())
	case *github.CustomPropertyValuesEvent:
		var names []string
		for _, v := range e.NewPropertyValues {
			if v != nil && v.PropertyName != "" {
				names = append(names, v.PropertyName)
			}
		}
		b.details.ChangedFields = capList(names)
	case *github.DependabotAlertEvent:
		b.dependabotAlert(e.GetAlert())
	case *github.DeployKeyEvent:
		k := e.GetKey()
		b.target = &event.Target{Type: "deploy_key", ID: k.GetID(), Title: k.GetTitle(), URL: b.repoPage("settings", "keys")}
		if k.ReadOnly != nil {
			b.details.Permission = "read-write"
			if k.GetReadOnly() {
				b.details.Permission = "read-only"
			}
		}
		b.when = k.GetCreatedAt().Time
	case *github.DeploymentEvent:
		b.deployment(e.GetDeployment())
		b.details.WorkflowName = e.GetWorkflow().GetName()
		if r := e.GetWorkflowRun(); r != nil {
			b.details.Trigger = r.GetEvent()
		}
	case *github.DeploymentProtectionRuleEvent:
		b.deployment(e.GetDeployment())
		if env := e.GetEnvironment(); env != "" {
			b.details.Environment = env
			b.target.Title = env
		}
		b.details.Trigger = e.GetEvent()
		b.details.PullRequests = pullNumbers(e.PullRequests)
	case *github.DeploymentReviewEvent:
		b.deploymentReview(e)
	case *github.GitHubAppAuthorizationEvent:
		// The sender revoked their authorization of the app: no other object.
	case *github.GollumEvent:
		b.gollum(e.Pages)
	case *github.InstallationEvent:
		b.installation(e.GetInstallation())
		// On created and deleted, repositories are those the app gained or
		// lost; on the other actions they are merely what it can reach.
		switch e.GetAction() {
		case "created":
			b.details.RepositoriesAdded, b.details.RepositoriesAddedCount = repoNames(e.Repositories)
		case "deleted":
			b.details.RepositoriesRemoved, b.details.RepositoriesRemovedCount = repoNames(e.Repositories)
		}
	case *github.InstallationRepositoriesEvent:
		b.installation(e.GetInstallation())
		b.details.RepositoriesAdded, b.details.RepositoriesAddedCount = repoNames(e.RepositoriesAdded)
		b.details.RepositoriesRemoved, b.details.RepositoriesRemovedCount = repoNames(e.RepositoriesRemoved)
	case *github.InstallationTargetEvent:
		a := e.GetAccount()
		b.target = &event.Target{Type: "installation", ID: e.GetInstallation().GetID(), Title: a.GetLogin(), URL: a.GetHTMLURL()}
		b.details.Account = a.GetLogin()
		b.details.Previous = e.GetChanges().GetLogin().GetFrom()
	case *github.LabelEvent:
		l := e.GetLabel()
		b.target = &event.Target{Type: "label", ID: l.GetID(), Title: l.GetName(), URL: b.repoPage("labels", l.GetName())}
		b.details.Label = l.GetName()
		b.details.Description = truncate(l.GetDescription())
	case *github.MarketplacePurchaseEvent:
		p := e.GetMarketplacePurchase()
		b.target = &event.Target{Type: "marketplace_plan", ID: p.GetPlan().GetID(), Title: p.GetPlan().GetName()}
		b.details.Account = p.GetAccount().GetLogin()
		b.details.Tier = p.GetPlan().GetName()
		b.details.Previous = e.GetPreviousMarketplacePurchase().GetPlan().GetName()
		b.when = e.GetEffectiveDate().Time
	case *github.MembershipEvent:
		b.team(e.GetTeam())
		b.details.Member = e.GetMember().GetLogin()
	case *github.MergeGroupEvent:
		g := e.GetMergeGroup()
		base := strings.TrimPrefix(g.GetBaseRef(), "refs/heads/")
		b.target = &event.Target{Type: "merge_group", Title: g.GetHeadCommit().GetMessage(), URL: b.repoPage("queue", base), HeadBranch: base}
		if b.target.Title == "" {
			b.target.Title = strings.TrimPrefix(g.GetHeadRef(), "refs/heads/")
		}
		b.target.Title, _, _ = strings.Cut(b.target.Title, "\n")
		b.details.Ref = g.GetBaseRef()
		b.details.RefName = base
		b.details.SHA = g.GetHeadSHA()
		b.details.Reason = e.GetReason()
	case *github.MetaEvent:
		h := e.GetHook()
		id := e.GetHookID()
		if id == 0 {
			id = h.GetID()
		}
		b.target = &event.Target{Type: "hook", ID: id, Title: hookTitle(h, id), URL: b.repoPage("settings", "hooks", idString(id))}
	case *github.MilestoneEvent:
		m := e.GetMilestone()
		b.target = &event.Target{Type: "milestone", Number: m.GetNumber(), ID: m.GetID(), Title: m.GetTitle(), URL: m.GetHTMLURL(),
			State: m.GetState(), Author: m.GetCreator().GetLogin()}
		b.details.Milestone = m.GetTitle()
		b.details.Description = truncate(m.GetDescription())
		b.when = first(m.GetUpdatedAt().Time, m.GetCreatedAt().Time)
	case *github.OrganizationEvent:
		b.organization(e)
	case *github.OrgBlockEvent:
		u := e.GetBlockedUser()
		b.target = userTarget(u)
		b.details.BlockedUser = u.GetLogin()
	case *github.PackageEvent:
		b.pkg(e.GetPackage())
	case *github.RegistryPackageEvent:
		b.pkg(e.GetRegistryPackage())
	case *github.PageBuildEvent:
		// The repository's Pages site is the object.
		bu := e.GetBuild()
		b.details.Status = bu.GetStatus()
		b.details.Description = truncate(bu.GetError().GetMessage())
		b.details.SHA = bu.GetCommit()
		b.when = first(bu.GetUpdatedAt().Time, bu.GetCreatedAt().Time)
	case *github.PersonalAccessTokenRequestEvent:
		r := e.GetPersonalAccessTokenRequest()
		b.target = &event.Target{Type: "personal_access_token_request", ID: r.GetID(), Title: r.GetOwner().GetLogin()}
		b.details.Member = r.GetOwner().GetLogin()
		b.when = r.GetCreatedAt().Time
	case *github.ProjectV2Event:
		p := e.GetProjectsV2()
		b.target = &event.Target{Type: "project", Number: p.GetNumber(), ID: p.GetID(), Title: p.GetTitle(),
			URL: b.projectURL(p.GetOwner(), p.GetNumber()), Body: truncate(p.GetShortDescription()), Author: p.GetCreator().GetLogin()}
		if p.ClosedAt != nil {
			b.target.State = "closed"
		}
		b.when = first(p.GetUpdatedAt().Time, p.GetCreatedAt().Time)
	case *github.ProjectV2ItemEvent:
		it := e.GetProjectV2Item()
		b.target = &event.Target{Type: "project_item", ID: it.GetID(), Author: it.GetCreator().GetLogin()}
		if ct := it.GetContentType(); ct != nil {
			b.details.ContentType = string(*ct)
		}
		if n := e.GetChanges().GetFieldValue().GetFieldName(); n != "" {
			b.details.ChangedFields = []string{n}
		}
		b.when = first(it.GetUpdatedAt().Time, it.GetCreatedAt().Time)
	case *github.PullRequestReviewThreadEvent:
		b.pullRequest(e.GetPullRequest())
		if th := e.GetThread(); th != nil && len(th.Comments) > 0 && th.Comments[0] != nil {
			c := th.Comments[0]
			b.details.CommentBody = truncate(c.GetBody())
			b.details.CommentURL = c.GetHTMLURL()
			b.details.Path = c.GetPath()
			b.details.Line = c.GetLine()
		}
	case *github.RepositoryDispatchEvent:
		// The repository is the object; the action is the caller's event type.
		b.details.Trigger = e.GetAction()
		b.details.Ref = e.GetBranch()
		b.details.RefName = e.GetBranch()
	case *github.RepositoryImportEvent:
		b.details.Status = e.GetStatus()
	case *github.RepositoryRulesetEvent:
		r := e.GetRepositoryRuleset()
		if r != nil {
			u := r.GetLinks().GetHTML().GetHRef()
			if _, ok := webURL(u); !ok {
				u = ""
			}
			b.target = &event.Target{Type: "repository_ruleset", ID: r.GetID(), Title: r.Name, URL: u}
			b.details.Status = string(r.Enforcement)
			b.when = first(r.GetUpdatedAt().Time, r.GetCreatedAt().Time)
		}
	case *github.RepositoryVulnerabilityAlertEvent:
		a := e.GetAlert()
		b.target = &event.Target{Type: "repository_vulnerability_alert", ID: a.GetID(), Title: a.GetAffectedPackageName(),
			URL: b.repoPage("security", "dependabot")}
		d := &b.details
		d.Package = a.GetAffectedPackageName()
		d.VulnerableRange = a.GetAffectedRange()
		d.PatchedVersion = a.GetFixedIn()
		d.Severity = strings.ToLower(a.GetSeverity())
		d.GHSAID = a.GetGitHubSecurityAdvisoryID()
		if id := a.GetExternalIdentifier(); strings.HasPrefix(id, "CVE-") {
			d.CVEID = id
		}
		d.Reason = a.GetDismissReason()
		b.when = first(a.GetDismissedAt().Time, a.GetCreatedAt().Time)
	case *github.SecretScanningAlertEvent:
		b.secretScanningAlert(e.GetAlert())
	case *github.SecretScanningAlertLocationEvent:
		b.secretScanningAlert(e.GetAlert())
		l := e.GetLocation().GetDetails()
		b.details.Path = l.GetPath()
		b.details.Line = l.GetStartline()
		b.details.SHA = l.GetCommitSHA()
	case *github.SecurityAdvisoryEvent:
		b.advisory("security_advisory", e.GetSecurityAdvisory())
	case *github.SecurityAndAnalysisEvent:
		// The repository is the object; the features changed come from the payload's changes.
	case *github.SponsorshipEvent:
		// go-github's type lacks the sponsorship itself: see supplement.
	case *github.TeamEvent:
		b.team(e.GetTeam())
		if ch := e.GetChanges(); ch != nil {
			b.details.Previous = ch.GetName().GetFrom()
		}
	case *github.TeamAddEvent:
		b.team(e.GetTeam())
	case *github.WorkflowDispatchEvent:
		wf := e.GetWorkflow()
		b.target = &event.Target{Type: "workflow", Title: wf, URL: b.repoPage("actions", "workflows", path.Base(wf))}
		if wf == "" {
			b.target = nil
		}
		b.details.WorkflowName = wf
		b.details.Ref = e.GetRef()
		b.setRefName(e.GetRef())
	default:
		return false
	}
	return true
}

func (b *builder) codeScanningAlert(e *github.CodeScanningAlertEvent) {
	a := e.GetAlert()
	r := a.GetRule()
	title := r.GetDescription()
	if title == "" {
		title = a.GetRuleDescription()
	}
	if title == "" {
		title = r.GetName()
	}
	b.target = &event.Target{Type: "code_scanning_alert", Number: a.GetNumber(), Title: title, URL: a.GetHTMLURL(), State: a.GetState()}
	d := &b.details
	d.Severity = r.GetSecuritySeverityLevel()
	if d.Severity == "" {
		d.Severity = r.GetSeverity()
	}
	if d.Severity == "" {
		d.Severity = a.GetRuleSeverity()
	}
	d.Rule = r.GetID()
	if d.Rule == "" {
		d.Rule = a.GetRuleID()
	}
	d.Tool = a.GetTool().GetName()
	d.Reason = a.GetDismissedReason()
	d.CommentBody = truncate(a.GetDismissedComment())
	d.Ref = e.GetRef()
	b.setRefName(e.GetRef())
	d.SHA = e.GetCommitOID()
	d.Path = a.GetMostRecentInstance().GetLocation().GetPath()
	d.Line = a.GetMostRecentInstance().GetLocation().GetStartLine()
	b.when = first(a.GetUpdatedAt().Time, a.GetDismissedAt().Time, a.GetFixedAt().Time, a.GetCreatedAt().Time)
}

func (b *builder) dependabotAlert(a *github.DependabotAlert) {
	if a == nil {
		return
	}
	adv := a.GetSecurityAdvisory()
	b.target = &event.Target{Type: "dependabot_alert", Number: a.GetNumber(), Title: adv.GetSummary(), URL: a.GetHTMLURL(), State: a.GetState()}
	d := &b.details
	v := a.GetSecurityVulnerability()
	d.Severity = v.GetSeverity()
	if d.Severity == "" {
		d.Severity = adv.GetSeverity()
	}
	d.Package = a.GetDependency().GetPackage().GetName()
	if d.Package == "" {
		d.Package = v.GetPackage().GetName()
	}
	d.Ecosystem = a.GetDependency().GetPackage().GetEcosystem()
	if d.Ecosystem == "" {
		d.Ecosystem = v.GetPackage().GetEcosystem()
	}
	d.GHSAID = adv.GetGHSAID()
	d.CVEID = adv.GetCVEID()
	if d.CVEID == "" && adv != nil {
		d.CVEID = identifier(adv.Identifiers, "CVE")
	}
	d.VulnerableRange = v.GetVulnerableVersionRange()
	d.PatchedVersion = v.GetFirstPatchedVersion().GetIdentifier()
	d.Reason = a.GetDismissedReason()
	d.CommentBody = truncate(a.GetDismissedComment())
	d.Path = a.GetDependency().GetManifestPath()
	b.when = first(a.GetUpdatedAt().Time, a.GetCreatedAt().Time)
}

func (b *builder) secretScanningAlert(a *github.SecretScanningAlert) {
	if a == nil {
		return
	}
	typ := a.GetSecretTypeDisplayName()
	if typ == "" {
		typ = a.GetSecretType()
	}
	// The secret itself (a.Secret) is never copied.
	url := a.GetHTMLURL()
	if url == "" && a.GetNumber() != 0 {
		url = b.repoPage("security", "secret-scanning", strconv.Itoa(a.GetNumber()))
	}
	b.target = &event.Target{Type: "secret_scanning_alert", Number: a.GetNumber(), Title: typ, URL: url, State: a.GetState()}
	b.details.SecretType = typ
	b.details.Reason = a.GetResolution()
	b.details.CommentBody = truncate(a.GetResolutionComment())
	b.when = first(a.GetUpdatedAt().Time, a.GetResolvedAt().Time, a.GetCreatedAt().Time)
}

// advisory fills an advisory's target and details, for security_advisory
// (go-github's type) and repository_advisory (the same shape).
func (b *builder) advisory(typ string, a *github.SecurityAdvisory) {
	if a == nil {
		return
	}
	b.target = &event.Target{Type: typ, Title: a.GetSummary(), URL: a.GetHTMLURL(), State: a.GetState(), Author: a.GetAuthor().GetLogin()}
	d := &b.details
	d.Severity = a.GetSeverity()
	d.GHSAID = a.GetGHSAID()
	if d.GHSAID == "" {
		d.GHSAID = identifier(a.Identifiers, "GHSA")
	}
	if b.target.URL == "" && d.GHSAID != "" {
		// Every GitHub advisory has a page in the advisory database.
		b.target.URL = b.hostPage("advisories", d.GHSAID)
	}
	d.CVEID = a.GetCVEID()
	if d.CVEID == "" {
		d.CVEID = identifier(a.Identifiers, "CVE")
	}
	if len(a.Vulnerabilities) > 0 && a.Vulnerabilities[0] != nil {
		v := a.Vulnerabilities[0]
		d.Package = v.GetPackage().GetName()
		d.Ecosystem = v.GetPackage().GetEcosystem()
		d.VulnerableRange = v.GetVulnerableVersionRange()
		d.PatchedVersion = v.GetFirstPatchedVersion().GetIdentifier()
		if d.PatchedVersion == "" {
			d.PatchedVersion = v.GetPatchedVersions()
		}
	}
	b.when = first(a.GetWithdrawnAt().Time, a.GetUpdatedAt().Time, a.GetPublishedAt().Time, a.GetCreatedAt().Time)
}

func identifier(ids []*github.AdvisoryIdentifier, typ string) string {
	for _, id := range ids {
		if id.GetType() == typ {
			return id.GetValue()
		}
	}
	return ""
}

// deployment fills the target and details of a deployment (deployment and
// deployment_protection_rule events).
func (b *builder) deployment(dep *github.Deployment) {
	env := dep.GetEnvironment()
	b.target = &event.Target{Type: "deployment", ID: dep.GetID(), Title: env, URL: b.repoPage("deployments"), Author: dep.GetCreator().GetLogin()}
	b.details.Environment = env
	b.details.Ref = dep.GetRef()
	b.setRefName(dep.GetRef())
	b.details.SHA = dep.GetSHA()
	b.details.Description = truncate(dep.GetDescription())
	b.subject = b.repoSubject("/deployments/", idString(dep.GetID()))
	b.when = first(dep.GetUpdatedAt().Time, dep.GetCreatedAt().Time)
}

func (b *builder) deploymentReview(e *github.DeploymentReviewEvent) {
	r := e.GetWorkflowRun()
	title := r.GetDisplayTitle()
	if title == "" {
		title = r.GetName()
	}
	b.target = &event.Target{Type: "workflow_run", Number: r.GetRunNumber(), ID: r.GetID(), Title: title, URL: r.GetHTMLURL(),
		State: r.GetStatus(), HeadBranch: r.GetHeadBranch()}
	env := e.GetEnvironment()
	if env == "" {
		env = e.GetWorkflowJobRun().GetEnvironment()
	}
	b.details.Environment = env
	b.details.WorkflowName = r.GetName()
	b.details.SHA = r.GetHeadSHA()
	b.details.CommentBody = truncate(e.GetComment())
	for _, rv := range e.Reviewers {
		switch r := rv.GetReviewer().(type) {
		case *github.Team:
			if n := teamName(r); n != "" {
				b.details.RequestedTeams = append(b.details.RequestedTeams, n)
			}
		case *github.User:
			if r.GetLogin() != "" {
				b.details.RequestedReviewers = append(b.details.RequestedReviewers, r.GetLogin())
			}
		}
	}
	b.subject = b.repoSubject("/actions/runs/", idString(r.GetID()))
	b.when = first(r.GetUpdatedAt().Time, r.GetCreatedAt().Time)
}

func (b *builder) gollum(pages []*github.Page) {
	for _, p := range pages {
		if p == nil {
			continue
		}
		b.details.PageCount++
		if len(b.details.Pages) == maxListed {
			continue
		}
		title := p.GetTitle()
		if title == "" {
			title = p.GetPageName()
		}
		b.details.Pages = append(b.details.Pages, event.WikiPage{Title: title, Action: p.GetAction(), URL: p.GetHTMLURL()})
	}
	if len(b.details.Pages) > 0 {
		p := b.details.Pages[0]
		b.target = &event.Target{Type: "wiki_page", Title: p.Title, URL: p.URL}
	}
}

func (b *builder) installation(i *github.Installation) {
	if i == nil {
		return
	}
	title := i.GetAppSlug()
	if title == "" {
		title = i.GetAccount().GetLogin()
	}
	b.target = &event.Target{Type: "installation", ID: i.GetID(), Title: title, URL: i.GetHTMLURL()}
	b.details.Account = i.GetAccount().GetLogin()
	b.when = first(i.GetUpdatedAt().Time, i.GetCreatedAt().Time)
}

// repoNames returns the full names of rs, at most maxListed, and how many there are.
func repoNames(rs []*github.Repository) ([]string, int) {
	var names []string
	n := 0
	for _, r := range rs {
		name := r.GetFullName()
		if name == "" {
			name = r.GetName()
		}
		if name == "" {
			continue
		}
		n++
		if len(names) < maxListed {
			names = append(names, name)
		}
	}
	return names, n
}

func (b *builder) team(t *github.Team) {
	if t == nil {
		return
	}
	b.target = &event.Target{Type: "team", ID: t.GetID(), Title: t.GetName(), URL: t.GetHTMLURL()}
	if b.target.Title == "" {
		b.target.Title = t.GetSlug()
	}
	b.details.Team = b.target.Title
	b.details.Permission = t.GetPermission()
	b.details.Description = truncate(t.GetDescription())
}

func (b *builder) organization(e *github.OrganizationEvent) {
	switch {
	case e.GetInvitation() != nil:
		inv := e.GetInvitation()
		who := inv.GetLogin()
		if who == "" {
			who = inv.GetEmail()
		}
		b.target = &event.Target{Type: "user", ID: inv.GetID(), Title: who}
		if inv.GetLogin() != "" {
			b.target.URL = b.hostPage(inv.GetLogin())
		}
		b.details.Invitee = who
		b.details.Role = inv.GetRole()
	case e.GetMembership() != nil:
		m := e.GetMembership()
		b.target = userTarget(m.GetUser())
		b.details.Member = m.GetUser().GetLogin()
		b.details.Role = m.GetRole()
	default:
		o := e.GetOrganization()
		url := o.GetHTMLURL()
		if url == "" && o.GetLogin() != "" {
			url = b.hostPage(o.GetLogin())
		}
		b.target = &event.Target{Type: "organization", ID: o.GetID(), Title: o.GetLogin(), URL: url}
	}
}

func (b *builder) pkg(p *github.Package) {
	if p == nil {
		return
	}
	v := p.GetPackageVersion()
	url := v.GetHTMLURL()
	if url == "" {
		url = p.GetHTMLURL()
	}
	b.target = &event.Target{Type: "package", ID: p.GetID(), Title: p.GetName(), URL: url, Author: v.GetAuthor().GetLogin()}
	b.details.Package = p.GetName()
	b.details.Ecosystem = strings.ToLower(p.GetPackageType())
	if b.details.Ecosystem == "" {
		b.details.Ecosystem = strings.ToLower(p.GetEcosystem())
	}
	b.details.PackageVersion = v.GetVersion()
	if b.details.PackageVersion == "" {
		b.details.PackageVersion = v.GetName()
	}
	b.when = first(v.GetUpdatedAt().Time, v.GetCreatedAt().Time, p.GetUpdatedAt().Time, p.GetCreatedAt().Time)
}

func userTarget(u *github.User) *event.Target {
	if u == nil {
		return nil
	}
	return &event.Target{Type: "user", ID: u.GetID(), Title: u.GetLogin(), URL: u.GetHTMLURL()}
}

func hookTitle(h *github.Hook, id int64) string {
	name := h.GetName()
	if name == "" {
		name = h.GetType()
	}
	if name == "" {
		name = "webhook"
	}
	if id != 0 {
		return name + " " + strconv.FormatInt(id, 10)
	}
	return name
}

func pullNumbers(prs []*github.PullRequest) []int {
	var out []int
	for _, pr := range prs {
		if n := pr.GetNumber(); n != 0 && len(out) < maxListed {
			out = append(out, n)
		}
	}
	return out
}

// capList returns the first maxListed names.
func capList(names []string) []string {
	if len(names) > maxListed {
		return names[:maxListed]
	}
	return names
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// webLinksOnly drops the object links that are not web addresses (a
// payload could say javascript:...): a target's, a related object's and
// wiki pages' URLs are documented as web pages.
func (b *builder) webLinksOnly() {
	if b.target != nil {
		b.target.URL = webOnly(b.target.URL)
	}
	if r := b.details.Related; r != nil {
		r.URL = webOnly(r.URL)
	}
	for i := range b.details.Pages {
		b.details.Pages[i].URL = webOnly(b.details.Pages[i].URL)
	}
}

// setRefName sets ref_name from a full or short ref.
func (b *builder) setRefName(ref string) {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if name, ok := strings.CutPrefix(ref, p); ok {
			b.details.RefName = name
			return
		}
	}
	b.details.RefName = ref
}

// repoPage returns the repository's web address with the given path
// segments appended, each escaped (a segment may hold slashes, as a branch
// name does), or "" without a usable repository URL or with an empty segment.
func (b *builder) repoPage(segments ...string) string {
	if b.repo == nil {
		return ""
	}
	return joinPage(b.repo.URL, segments...)
}

// hostPage returns a page of the GitHub host the event came from
// (github.com, or the Enterprise host of the repository, organization or actor).
func (b *builder) hostPage(segments ...string) string {
	for _, base := range []string{b.orgURL, b.actor.URL, repoURL(b.repo)} {
		if u, ok := webURL(base); ok {
			return joinPage(u.Scheme+"://"+u.Host, segments...)
		}
	}
	return joinPage("https://github.com", segments...)
}

func repoURL(r *event.Repository) string {
	if r == nil {
		return ""
	}
	return r.URL
}

func joinPage(base string, segments ...string) string {
	u, ok := webURL(base)
	if !ok {
		return ""
	}
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	for _, s := range segments {
		if s == "" {
			return ""
		}
		for part := range strings.SplitSeq(s, "/") {
			if part == "" || part == "." || part == ".." {
				return ""
			}
			p += "/" + url.PathEscape(part)
		}
	}
	out, err := url.Parse(u.Scheme + "://" + u.Host + p)
	if err != nil {
		return ""
	}
	return out.String()
}

// projectURL returns the page of a projects (v2) board of an organization
// or user.
func (b *builder) projectURL(owner *github.User, number int) string {
	if number == 0 {
		return ""
	}
	login, kind := owner.GetLogin(), "users"
	if owner.GetType() == "Organization" || login == "" {
		login, kind = b.org, "orgs"
	}
	if login == "" {
		return ""
	}
	return b.hostPage(kind, login, "projects", strconv.Itoa(number))
}

// supplementFields holds the members of a payload that ghnotify uses and
// go-github's event types lack or that every type shares: the label of a
// labeled discussion, the changes of an edit, a sponsorship, a discussion's
// answer.
type supplementFields struct {
	Label *struct {
		Name string `json:"name"`
	} `json:"label"`
	Changes     json.RawMessage `json:"changes"`
	Sponsorship json.RawMessage `json:"sponsorship"`
	Answer      *struct {
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
	} `json:"answer"`
}

// supplement fills from body the fields go-github's type for the event
// does not decode.
func (b *builder) supplement(body []byte) {
	if b.d.Event != "discussion" && b.d.Event != "sponsorship" && !bytes.Contains(body, []byte(`"changes"`)) {
		return // nothing to read: spare the hot kinds a second decoding
	}
	var f supplementFields
	if json.Unmarshal(body, &f) != nil {
		return
	}
	if b.d.Event == "discussion" {
		if f.Label != nil {
			b.details.Label = f.Label.Name
		}
		if f.Answer != nil && b.details.CommentBody == "" {
			b.details.CommentBody = truncate(f.Answer.Body)
			b.details.CommentURL = f.Answer.HTMLURL
		}
	}
	if len(f.Sponsorship) > 0 && b.d.Event == "sponsorship" {
		b.sponsorship(decodeDoc(f.Sponsorship))
	}
	if len(f.Changes) > 0 {
		b.changes(decodeDoc(f.Changes))
	}
}

func (b *builder) sponsorship(s doc) {
	if s == nil {
		return
	}
	who := s.str("sponsorable.login|maintainer.login")
	b.target = &event.Target{Type: "sponsorship", Title: who}
	if who != "" {
		b.target.URL = b.hostPage("sponsors", who)
	}
	b.details.Sponsor = s.str("sponsor.login")
	b.details.Tier = s.str("tier.name")
}

// changes fills previous, and for an edited action changed_fields, from a
// payload's changes.
func (b *builder) changes(c doc) {
	if c == nil {
		return
	}
	switch b.d.Event {
	case "projects_v2_item", "custom_property_values":
		return // set from the typed payload
	case "security_and_analysis":
		if from := c.obj("from.security_and_analysis"); from != nil {
			b.details.ChangedFields = capList(sortedKeys(from))
		}
		return
	}
	if b.action == "edited" {
		b.details.ChangedFields = capList(sortedKeys(c))
	}
	if b.details.Previous == "" {
		b.details.Previous = c.str("title.from|name.from|login.from|repository.name.from|" +
			"owner.from.user.login|owner.from.organization.login|category.from.name|tier.from.name|slug.from")
	}
}

func sortedKeys(m doc) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
