package message

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
)

// A layout turns a view into a card. Every event GitHub documents has a
// spec; kinds of events without one use the generic layout, which still
// names whatever object the event carries.
type layoutFunc func(v *view) card

// spec describes the messages of one GitHub event.
type spec struct {
	// noun names the event's object in headers: "Pull request".
	noun string
	// emoji leads plain headers, by verb ("" for any verb).
	emoji map[string]string
	// heads are header templates by verb; the default is "{Noun} {verb}".
	// Placeholders are listed in placeholders; "[ to {env}]" is dropped when {env} is empty, "{member|A user}" has a default. " by @actor" is appended unless
	// the template names {actor} or noActor is set.
	heads   map[string]string
	noActor bool
	// layout renders the event; nil is objectLayout. outcomeLayout leads
	// with the result (checks, workflows, deployments, statuses),
	// alertLayout with the severity (security events).
	layout layoutFunc
}

// specs maps GitHub's event names to their specs: every event of
// GitHub's webhook documentation.
var specs map[string]*spec

func init() {
	issueHeads := map[string]string{
		"synchronize":            "New commits pushed to {object}",
		"assigned":               "{Object} assigned[ to {assignee}]",
		"unassigned":             "{assignee|Assignee} unassigned from {object}",
		"labeled":                "Label[ {label}] added to {object}",
		"unlabeled":              "Label[ {label}] removed from {object}",
		"review_requested":       "Review requested[ from {reviewers}]",
		"review_request_removed": "Review request[ for {reviewers}] removed",
		"ready_for_review":       "{Object} ready for review",
		"converted_to_draft":     "{Object} converted to draft",
		"milestoned":             "{Object} added to milestone[ {milestone}]",
		"demilestoned":           "{Object} removed from milestone[ {milestone}]",
		"auto_merge_enabled":     "Auto-merge enabled on {object}",
		"auto_merge_disabled":    "Auto-merge disabled on {object}",
		"enqueued":               "{Object} added to the merge queue",
		"dequeued":               "{Object} removed from the merge queue",
		"typed":                  "Type set on {object}",
		"untyped":                "Type removed from {object}",
		"category_changed":       "{Object} moved[ to category {category}]",
		"created":                "{Noun} started",
	}
	stateEmoji := map[string]string{
		"opened": ":large_green_circle:", "reopened": ":large_green_circle:", "created": ":large_green_circle:",
		"closed": ":red_circle:", "merged": ":large_purple_circle:", "answered": ":white_check_mark:",
		"ready_for_review": ":eyes:", "review_requested": ":eyes:", "synchronize": ":arrow_up:",
		"labeled": ":label:", "unlabeled": ":label:", "assigned": ":bust_in_silhouette:", "unassigned": ":bust_in_silhouette:",
		"deleted": ":wastebasket:", "locked": ":lock:", "unlocked": ":unlock:", "pinned": ":pushpin:", "transferred": ":arrow_right:",
	}
	alert := func(noun string, heads map[string]string) *spec {
		return &spec{noun: noun, heads: heads, layout: alertLayout}
	}
	checks := func(noun string) *spec { return &spec{noun: noun, layout: outcomeLayout} }
	specs = map[string]*spec{
		"branch_protection_configuration": {noun: "Branch protection", heads: map[string]string{"enabled": "Branch protection enabled[ for {repo}]", "disabled": "Branch protection disabled[ for {repo}]"}},
		"branch_protection_rule":          {noun: "Branch protection rule"},
		"check_run":                       checks("check run"),
		"check_suite":                     checks("check suite"),
		"code_scanning_alert": alert("Code scanning alert", map[string]string{
			"appeared_in_branch": "appeared[ in branch {ref}]", "closed_by_user": "closed", "reopened_by_user": "reopened", "updated_assignment": "assignees changed",
		}),
		"commit_comment": {noun: "Comment", layout: commentLayout},
		"create":         {noun: "Ref", layout: refLayout},
		"custom_property": {noun: "Custom property", heads: map[string]string{
			"promoted_to_enterprise": "Custom property promoted to the enterprise",
		}},
		"custom_property_values": {noun: "Custom property values", heads: map[string]string{"updated": "Custom properties[ of {repo}] updated"}},
		"delete":                 {noun: "Ref", layout: refLayout},
		"dependabot_alert": alert("Dependabot alert", map[string]string{
			"auto_dismissed": "auto-dismissed", "auto_reopened": "auto-reopened", "assignees_changed": "assignees changed",
		}),
		"deploy_key":                 {noun: "Deploy key", emoji: map[string]string{"": ":key:"}, heads: map[string]string{"created": "Deploy key added", "deleted": "Deploy key removed"}},
		"deployment":                 {noun: "Deployment", emoji: map[string]string{"": ":rocket:"}, heads: map[string]string{"created": "Deployment[ to {env}] created"}, layout: deploymentLayout},
		"deployment_protection_rule": {noun: "Deployment protection rule", emoji: map[string]string{"": ":shield:"}, heads: map[string]string{"requested": "Deployment protection rule check requested[ for {env}]"}, layout: deploymentLayout},
		"deployment_review": {noun: "Deployment review", emoji: map[string]string{"approved": ":white_check_mark:", "rejected": ":x:", "requested": ":eyes:"}, heads: map[string]string{
			"approved": "Deployment[ to {env}] approved", "rejected": "Deployment[ to {env}] rejected", "requested": "Deployment review requested[ for {env}]",
		}, layout: deploymentLayout},
		"deployment_status":  checks("deployment"),
		"discussion":         {noun: "Discussion", emoji: stateEmoji, heads: issueHeads, layout: issueLayout},
		"discussion_comment": {noun: "Comment", layout: commentLayout},
		"fork":               {noun: "Fork", layout: forkLayout},
		"github_app_authorization": {noun: "GitHub App authorization", heads: map[string]string{
			"revoked": "{actor} revoked their authorization of a GitHub App",
		}},
		"gollum": {noun: "Wiki", layout: wikiLayout},
		"installation": {noun: "GitHub App", emoji: map[string]string{"": ":electric_plug:"}, heads: map[string]string{
			"created": "GitHub App installed[ on {account}]", "deleted": "GitHub App uninstalled[ from {account}]",
			"suspend": "GitHub App suspended[ on {account}]", "unsuspend": "GitHub App unsuspended[ on {account}]",
			"new_permissions_accepted": "New permissions accepted for a GitHub App[ on {account}]",
		}},
		"installation_repositories": {noun: "GitHub App", emoji: map[string]string{"": ":electric_plug:"}, heads: map[string]string{
			"added": "{added|Repositories} added to a GitHub App installation", "removed": "{removed|Repositories} removed from a GitHub App installation",
		}},
		"installation_target": {noun: "Account", heads: map[string]string{"renamed": "Account[ {previous}] renamed[ to {account}]"}},
		"issue_comment":       {noun: "Comment", layout: commentLayout},
		"issue_dependencies": {noun: "Issue dependency", heads: map[string]string{
			"blocked_by_added": "{Object} marked as blocked[ by {related}]", "blocked_by_removed": "{Object} no longer blocked[ by {related}]",
			"blocking_added": "{Object} marked as blocking[ {related}]", "blocking_removed": "{Object} no longer blocking[ {related}]",
		}, layout: issueLayout},
		"issues":               {noun: "Issue", emoji: stateEmoji, heads: issueHeads, layout: issueLayout},
		"label":                {noun: "Label", emoji: map[string]string{"": ":label:"}},
		"marketplace_purchase": {noun: "Marketplace plan", emoji: map[string]string{"": ":shopping_trolley:"}, heads: map[string]string{"pending_change": "Marketplace plan change pending", "pending_change_cancelled": "Pending Marketplace plan change cancelled"}},
		"member": {noun: "Collaborator", emoji: map[string]string{"": ":bust_in_silhouette:"}, heads: map[string]string{
			"added": "{member|A collaborator} added as a collaborator", "removed": "{member|A collaborator} removed as a collaborator", "edited": "Permissions of {member|a collaborator} changed",
		}},
		"membership": {noun: "Team membership", emoji: map[string]string{"": ":busts_in_silhouette:"}, heads: map[string]string{
			"added": "{member|A member} added to team[ {team}]", "removed": "{member|A member} removed from team[ {team}]",
		}},
		"merge_group": {noun: "Merge group", emoji: map[string]string{"checks_requested": ":hourglass_flowing_sand:", "destroyed": ":wastebasket:"}, heads: map[string]string{
			"checks_requested": "Merge queue checks requested[ for {ref}]", "destroyed": "Merge group[ for {ref}] destroyed[ ({reason})]",
		}},
		"meta":      {noun: "Webhook", emoji: map[string]string{"": ":wastebasket:"}},
		"milestone": {noun: "Milestone", emoji: map[string]string{"": ":triangular_flag_on_post:"}},
		"org_block": {noun: "User", emoji: map[string]string{"": ":no_entry_sign:"}, heads: map[string]string{
			"blocked": "{blocked|A user} blocked[ from {org}]", "unblocked": "{blocked|A user} unblocked[ in {org}]",
		}},
		"organization": {noun: "Organization", emoji: map[string]string{"": ":office:"}, heads: map[string]string{
			"member_added": "{member|A member} joined[ {org}]", "member_invited": "{invitee|Someone} invited[ to {org}]", "member_removed": "{member|A member} removed[ from {org}]",
			"renamed": "Organization[ {previous}] renamed[ to {org}]",
		}},
		"package":                       {noun: "Package", emoji: map[string]string{"": ":package:"}, heads: map[string]string{"published": "Package[ {package}] published", "updated": "Package[ {package}] updated"}},
		"page_build":                    {noun: "GitHub Pages build", layout: outcomeLayout},
		"personal_access_token_request": {noun: "Personal access token request", emoji: map[string]string{"": ":key:"}},
		"ping":                          {noun: "Webhook", layout: pingLayout},
		"project":                       {noun: "Project", emoji: map[string]string{"": ":clipboard:"}},
		"project_card":                  {noun: "Project card", emoji: map[string]string{"": ":clipboard:"}},
		"project_column":                {noun: "Project column", emoji: map[string]string{"": ":clipboard:"}},
		"projects_v2":                   {noun: "Project", emoji: map[string]string{"": ":clipboard:"}},
		"projects_v2_item":              {noun: "Project item", emoji: map[string]string{"": ":clipboard:"}},
		"projects_v2_status_update":     {noun: "Project status update", emoji: map[string]string{"": ":clipboard:"}},
		"public":                        {noun: "Repository", emoji: map[string]string{"": ":unlock:"}, heads: map[string]string{"": "{repo|Repository} made public"}},
		"pull_request":                  {noun: "Pull request", emoji: stateEmoji, heads: issueHeads, layout: issueLayout},
		"pull_request_review":           {noun: "Review", layout: reviewLayout},
		"pull_request_review_comment":   {noun: "Review comment", layout: commentLayout},
		"pull_request_review_thread": {noun: "Review thread", heads: map[string]string{
			"resolved": "Review thread resolved[ on {target}]", "unresolved": "Review thread reopened[ on {target}]",
		}, layout: issueLayout},
		"push":             {noun: "Push", layout: pushLayout},
		"registry_package": {noun: "Package", emoji: map[string]string{"": ":package:"}, heads: map[string]string{"published": "Package[ {package}] published", "updated": "Package[ {package}] updated"}},
		"release":          {noun: "Release", emoji: map[string]string{"": ":rocket:", "deleted": ":wastebasket:"}, heads: map[string]string{"prereleased": "Pre-release published", "released": "Release made final", "unpublished": "Release unpublished"}, layout: issueLayout},
		"repository": {noun: "Repository", emoji: map[string]string{"": ":file_cabinet:"}, heads: map[string]string{
			"created": "Repository {repo} created", "deleted": "Repository {repo} deleted", "archived": "Repository {repo} archived",
			"unarchived": "Repository {repo} unarchived", "edited": "Repository {repo} edited", "renamed": "Repository[ {previous}] renamed[ to {repo}]",
			"transferred": "Repository {repo} transferred[ from {previous}]", "publicized": "Repository {repo} made public", "privatized": "Repository {repo} made private",
		}},
		"repository_advisory": alert("Repository advisory", nil),
		"repository_dispatch": {noun: "Repository dispatch", emoji: map[string]string{"": ":satellite:"}, heads: map[string]string{"": "Repository dispatch[ {trigger}] received"}},
		"repository_import":   {noun: "import", layout: outcomeLayout},
		"repository_ruleset":  {noun: "Ruleset", emoji: map[string]string{"": ":straight_ruler:"}},
		"repository_vulnerability_alert": alert("Vulnerability alert", map[string]string{
			"create": "created", "dismiss": "dismissed", "reopen": "reopened", "resolve": "resolved",
		}),
		"secret_scanning_alert": alert("Secret scanning alert", map[string]string{
			"publicly_leaked": "publicly leaked", "validated": "validated",
		}),
		"secret_scanning_alert_location": alert("Secret scanning alert", map[string]string{"created": "found in a new location"}),
		"secret_scanning_scan":           {noun: "Secret scanning scan", emoji: map[string]string{"": ":mag:"}, heads: map[string]string{"completed": "Secret scanning scan[ of {repo}] completed"}},
		"security_advisory":              alert("Security advisory", nil),
		"security_and_analysis":          {noun: "Security and analysis settings", emoji: map[string]string{"": ":shield:"}, heads: map[string]string{"": "Security and analysis settings[ of {repo}] changed"}},
		"sponsorship": {noun: "Sponsorship", emoji: map[string]string{"": ":sparkling_heart:"}, heads: map[string]string{
			"created": "New sponsorship[ from {sponsor}]", "cancelled": "Sponsorship[ from {sponsor}] cancelled", "edited": "Sponsorship[ from {sponsor}] edited",
			"pending_cancellation": "Sponsorship[ from {sponsor}] will be cancelled", "pending_tier_change": "Sponsorship tier change pending[ for {sponsor}]",
			"tier_changed": "Sponsorship tier[ of {sponsor}] changed",
		}, noActor: true},
		"star":   {noun: "Star", layout: starLayout},
		"status": {noun: "commit status", layout: outcomeLayout},
		"sub_issues": {noun: "Sub-issue", heads: map[string]string{
			"sub_issue_added": "Sub-issue[ {related}] added[ to {target}]", "sub_issue_removed": "Sub-issue[ {related}] removed[ from {target}]",
			"parent_issue_added": "{Target|Issue} added as a sub-issue[ of {related}]", "parent_issue_removed": "{Target|Issue} removed as a sub-issue[ of {related}]",
		}, layout: issueLayout},
		"team": {noun: "Team", emoji: map[string]string{"": ":busts_in_silhouette:"}, heads: map[string]string{
			"created": "Team[ {team}] created", "deleted": "Team[ {team}] deleted", "edited": "Team[ {team}] edited",
			"added_to_repository": "Team[ {team}] given access[ to {repo}]", "removed_from_repository": "Team[ {team}] removed[ from {repo}]",
		}},
		"team_add":          {noun: "Team", emoji: map[string]string{"": ":busts_in_silhouette:"}, heads: map[string]string{"": "Team[ {team}] added[ to {repo}]"}},
		"watch":             {noun: "Star", layout: starLayout},
		"workflow_dispatch": {noun: "Workflow", emoji: map[string]string{"": ":arrow_forward:"}, heads: map[string]string{"": "Workflow[ {workflow}] run requested[ on {ref}]"}},
		"workflow_job":      checks("workflow job"),
		"workflow_run":      checks("workflow"),
	}
}

// SpecEvents lists the GitHub events with a layout of their own.
func SpecEvents() []string {
	out := make([]string, 0, len(specs))
	for n := range specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Generic is the name of the layout of events GitHub adds later.
const Generic = "generic"

// layoutFor returns the layout name (the event's name, or "generic")
// and its function.
func layoutFor(v *view) (string, layoutFunc) {
	s, ok := specs[v.name]
	if !ok {
		return Generic, genericLayout
	}
	if s.layout != nil {
		return v.name, s.layout
	}
	return v.name, objectLayout
}

func (v *view) spec() *spec {
	if s, ok := specs[v.name]; ok {
		return s
	}
	return &spec{noun: capitalize(humanize(v.name))}
}

// objectWord is the object as a header names it: "pull request #12",
// "issue #7", or the noun alone.
func (v *view) objectWord() string {
	noun := lowerWords(v.spec().noun)
	switch v.t.Type {
	case "pull_request":
		noun = "pull request"
	case "issue":
		noun = "issue"
	case "discussion":
		noun = "discussion"
	}
	if n := v.number(); n != "" {
		return noun + " " + n
	}
	return noun
}

// placeholders are the values header templates may use.
func (v *view) placeholders() map[string]string {
	x := v.x
	obj := v.objectWord()
	rel := ""
	if r := x.Related; r != nil {
		rel = r.Title
		if r.Number > 0 {
			rel = strings.TrimSpace(fmt.Sprintf("%s #%d", humanize(r.Type), r.Number))
		}
	}
	target := ""
	if v.d.Target != nil && v.t.Number > 0 {
		target = obj
	}
	teamName := firstOf(x.Team, v.typed("team"))
	member := firstOf(x.Member, v.typed("user"))
	trigger := x.Trigger
	if v.name == "repository_dispatch" {
		trigger = firstOf(trigger, v.verb)
	}
	return map[string]string{
		"actor":     v.actor(),
		"Object":    capitalize(obj),
		"object":    obj,
		"target":    target,
		"Target":    capitalize(target),
		"Noun":      capitalize(v.spec().noun),
		"verb":      humanize(v.verb),
		"repo":      v.repo(),
		"org":       v.owner(),
		"label":     firstOf(x.Label, v.typed("label")),
		"assignee":  at(x.Assignee),
		"milestone": x.Milestone,
		"category":  x.Category,
		"reviewers": reviewerNames(v),
		"reviewer":  at(x.Reviewer),
		"member":    at(member),
		"invitee":   at(x.Invitee),
		"blocked":   at(x.BlockedUser),
		"team":      teamName,
		"account":   x.Account,
		"previous":  x.Previous,
		"sponsor":   at(firstOf(x.Sponsor)),
		"package":   strings.TrimSpace(x.Package + " " + shortVersion(x.PackageVersion)),
		"env":       x.Environment,
		"ref":       refName(v),
		"reason":    humanize(x.Reason),
		"trigger":   trigger,
		"workflow":  baseName(firstOf(x.WorkflowName, v.t.Title)),
		"related":   rel,
		"added":     countNoun(firstNonZero(x.RepositoriesAddedCount, len(x.RepositoriesAdded)), "repository", "repositories"),
		"removed":   countNoun(firstNonZero(x.RepositoriesRemovedCount, len(x.RepositoriesRemoved)), "repository", "repositories"),
	}
}

// typed is the target's title when the target is of type typ.
func (v *view) typed(typ string) string {
	if v.t.Type == typ {
		return v.t.Title
	}
	return ""
}

// templateRE matches, at the top level of a header template, an optional
// segment "[ to {env}]", dropped when a placeholder in it is empty, or a
// placeholder "{member|A user}", replaced by its value or its default.
var (
	templateRE    = regexp.MustCompile(`\[[^\[\]]*\]|\{\w+(?:\|[^}]*)?\}`)
	placeholderRE = regexp.MustCompile(`\{(\w+)(?:\|([^}]*))?\}`)
)

// fill expands a header template. Values from GitHub are inserted once
// and never read as template syntax.
func (v *view) fill(tmpl string) string {
	vals := v.placeholders()
	expand := func(s string) (string, bool) {
		ok := true
		out := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			sm := placeholderRE.FindStringSubmatch(m)
			val := strings.TrimSpace(vals[sm[1]])
			if val == "" {
				val = sm[2]
			}
			if val == "" {
				ok = false
			}
			return val
		})
		return out, ok
	}
	s := templateRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		if strings.HasPrefix(m, "[") {
			out, ok := expand(m[1 : len(m)-1])
			if !ok {
				return ""
			}
			return out
		}
		out, _ := expand(m)
		return out
	})
	return strings.Join(strings.Fields(s), " ")
}

// header builds a plain header: emoji, the filled template and "by @actor".
func (v *view) header() string {
	s := v.spec()
	tmpl, ok := s.heads[v.verb]
	if !ok {
		tmpl, ok = s.heads[""]
	}
	if !ok {
		tmpl = "{Noun} {verb}"
	}
	h := v.fill(tmpl)
	if !s.noActor && !strings.Contains(tmpl, "{actor}") {
		h += v.by()
	}
	e := s.emoji[v.verb]
	if e == "" {
		e = s.emoji[""]
	}
	return strings.TrimSpace(e + " " + h)
}

func at(login string) string {
	if login == "" || strings.Contains(login, "@") {
		return login
	}
	return "@" + login
}

// lowerWords lowercases the words of a noun except names such as
// GitHub: "GitHub App" → "GitHub app", "Deploy key" → "deploy key".
func lowerWords(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.ToLower(w[1:]) == w[1:] {
			words[i] = strings.ToLower(w)
		}
	}
	return strings.Join(words, " ")
}

// baseName is the file name of a workflow path (.github/workflows/ci.yml → ci.yml).
func baseName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// shortVersion shortens a container digest (sha256:…) to 12 hex digits.
func shortVersion(v string) string {
	if strings.HasPrefix(v, "sha256:") && len(v) > 19 {
		return v[:19]
	}
	return v
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func firstNonZero(ns ...int) int {
	for _, n := range ns {
		if n != 0 {
			return n
		}
	}
	return 0
}

func countNoun(n int, one, many string) string {
	if n == 0 {
		return ""
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func reviewerNames(v *view) string {
	names := append(atAll(v.x.RequestedReviewers), teamNames(v, v.x.RequestedTeams)...)
	return andMore(names, 3, ", ")
}

func atAll(logins []string) []string {
	out := make([]string, 0, len(logins))
	for _, l := range logins {
		if l != "" {
			out = append(out, at(l))
		}
	}
	return out
}

func teamNames(v *view, slugs []string) []string {
	out := make([]string, 0, len(slugs))
	for _, s := range slugs {
		if s == "" {
			continue
		}
		if org := v.owner(); org != "" && !strings.Contains(s, "/") {
			s = org + "/" + s
		}
		out = append(out, "@"+s)
	}
	return out
}

// refName is the branch or tag an event names, without refs/heads/.
func refName(v *view) string {
	if v.x.RefName != "" {
		return v.x.RefName
	}
	r := v.x.Ref
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		r = strings.TrimPrefix(r, p)
	}
	return r
}

// fallbackFor is the notification text: "[repo] header: title".
func fallbackFor(v *view, head string, what string) string {
	s := head
	if what = strings.TrimSpace(what); what != "" {
		s += ": " + what
	}
	if r := v.repo(); r != "" {
		s = "[" + r + "] " + s
	}
	return s
}

// stripEmoji removes a leading emoji shortcode from a header.
func stripEmoji(h string) string {
	if strings.HasPrefix(h, ":") {
		if i := strings.Index(h[1:], ":"); i >= 0 && !strings.Contains(h[1:i+1], " ") {
			return strings.TrimSpace(h[i+2:])
		}
	}
	return h
}

// context is the small print: the actor and the kind, for routes.
func (v *view) context() []string {
	return nonEmpty(v.actorLink(), code(v.d.Kind, 100))
}

// objectLayout is the layout of most events: the header says what
// happened and who did it, the section names the object with a link,
// the repository and the event's facts.
func objectLayout(v *view) card {
	head := v.header()
	lines := nonEmpty(v.objectLink(head), meta(v.repoLink(), v.facts()))
	return card{
		header:   head,
		lines:    lines,
		quote:    v.quote(),
		list:     v.listLines(),
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), v.objectTitle()),
	}
}

// objectTitle is the object's name for the notification text.
func (v *view) objectTitle() string {
	t := strings.TrimSpace(v.t.Title)
	if n := v.number(); n != "" {
		return strings.TrimSpace(n + " " + t)
	}
	return t
}

// objectLine is the object as a bold link, or its name.
func (v *view) objectLine() string { return v.targetLine() }

// objectLink is objectLine for a message whose header may name the
// object already: then the link shows the number or "View <noun>".
func (v *view) objectLink(head string) string {
	title := strings.TrimSpace(v.t.Title)
	if title == "" || !strings.Contains(head, title) {
		return v.targetLine()
	}
	if v.t.URL == "" {
		return ""
	}
	text := v.number()
	if text == "" {
		text = "View " + lowerWords(v.spec().noun)
	}
	return "*" + link(v.t.URL, text, 100) + "*"
}

// facts are the kind-specific details as short mrkdwn.
func (v *view) facts() string {
	x := v.x
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if x.Description != "" {
		add(Text(x.Description, 300))
	}
	if x.Previous != "" && x.Previous != v.t.Title && v.verb != "renamed" && v.verb != "transferred" {
		add("was " + Text(x.Previous, 200))
	}
	if x.Role != "" {
		add("role " + code(x.Role, 50))
	}
	if x.Permission != "" {
		add("permission " + code(x.Permission, 50))
	}
	if x.Tier != "" && x.Tier != v.t.Title {
		add("tier " + Text(x.Tier, 100))
	}
	if x.ContentType != "" {
		add(Text(humanize(x.ContentType), 50))
	}
	if x.Status != "" {
		add("status " + code(x.Status, 50))
	}
	if len(x.ChangedFields) > 0 {
		items := make([]string, 0, len(x.ChangedFields))
		for _, f := range x.ChangedFields {
			items = append(items, code(f, 60))
		}
		add("changed " + andMore(items, 8, ", "))
	}
	if r := x.Related; r != nil {
		add(relatedLink(r))
	}
	if x.Ecosystem != "" && x.Package != "" {
		add(Text(x.Ecosystem, 50))
	}
	if x.Sponsor != "" && v.name != "sponsorship" {
		add("sponsor " + v.person(x.Sponsor))
	}
	if x.Account != "" && x.Account != v.t.Title {
		add("account " + Text(x.Account, 100))
	}
	return strings.Join(parts, " · ")
}

func relatedLink(r *event.Link) string {
	text := r.Title
	if r.Number > 0 {
		text = strings.TrimSpace(fmt.Sprintf("#%d %s", r.Number, r.Title))
		if r.Repository != "" {
			text = r.Repository + text
		}
	}
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return link(r.URL, text, 300)
}

// quote is the body worth quoting: what was opened, created, published.
func (v *view) quote() string {
	switch v.verb {
	case "opened", "created", "published", "released", "prereleased", "reported", "answered":
		body, title := strings.TrimSpace(v.t.Body), strings.TrimSpace(v.t.Title)
		if title != "" && strings.HasPrefix(body, title) {
			// The title is the body's first line: quote the rest.
			body = strings.TrimSpace(strings.TrimPrefix(body, title))
		}
		return body
	}
	return ""
}

// listLines are the lists an event carries: repositories added to an
// installation, for example.
func (v *view) listLines() []string {
	var out []string
	for _, r := range v.x.RepositoriesAdded {
		out = append(out, "+ "+link("https://github.com/"+r, r, 200))
	}
	for _, r := range v.x.RepositoriesRemoved {
		out = append(out, "− "+Text(r, 200))
	}
	return out
}

// issueLayout serves issues, pull requests, discussions and releases:
// the header says what happened, the section shows the title once, the
// branches, labels, reviewers or assignee (mentioned where the people
// map knows them) and the body when it is new.
func issueLayout(v *view) card {
	t, x := v.t, v.x
	head := v.header()
	if v.name == "pull_request" && v.verb == "opened" && t.Draft != nil && *t.Draft {
		head = strings.Replace(head, "Pull request opened", "Draft pull request opened", 1)
	}
	var who string
	switch v.verb {
	case "review_requested", "review_request_removed":
		who = meta(v.people(x.RequestedReviewers, 10), v.teams(x.RequestedTeams, 5))
		if who != "" {
			who = "Reviewers: " + strings.ReplaceAll(who, " · ", ", ")
		}
	case "assigned", "unassigned":
		if x.Assignee != "" {
			who = "Assignee: " + v.person(x.Assignee)
		}
	}
	var branches string
	if t.HeadBranch != "" && t.BaseBranch != "" {
		branches = branch(t.HeadBranch) + " → " + branch(t.BaseBranch)
	}
	var extra []string
	switch v.name {
	case "release":
		if x.TagName != "" && x.TagName != t.Title {
			extra = append(extra, "tag "+branch(x.TagName))
		}
		if x.Prerelease {
			extra = append(extra, "pre-release")
		}
	case "discussion":
		if x.Category != "" {
			extra = append(extra, "category "+Text(x.Category, 100))
		}
	case "pull_request_review_thread":
		if x.Path != "" {
			extra = append(extra, code(x.Path, 200))
		}
	}
	if v.verb == "synchronize" && x.Before != "" && x.After != "" && t.URL != "" {
		extra = append(extra, link(t.URL+"/files/"+x.Before+".."+x.After, "View changes", 50))
	}
	if v.verb == "edited" && x.Previous != "" {
		extra = append(extra, "was "+Text(x.Previous, 200))
	}
	if len(x.ChangedFields) > 0 && v.verb == "edited" {
		items := make([]string, 0, len(x.ChangedFields))
		for _, f := range x.ChangedFields {
			items = append(items, code(f, 60))
		}
		extra = append(extra, "changed "+andMore(items, 8, ", "))
	}
	if r := x.Related; r != nil {
		extra = append(extra, relatedLink(r))
	}
	if x.Milestone != "" {
		extra = append(extra, "milestone "+Text(x.Milestone, 100))
	}
	lines := nonEmpty(v.targetLine(), meta(append([]string{v.repoLink(), branches}, extra...)...), who, labelsLine(t.Labels))
	quote := v.quote()
	if v.name == "pull_request_review_thread" || v.verb == "answered" {
		quote = x.CommentBody
	}
	return card{
		header:   head,
		lines:    lines,
		quote:    quote,
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), v.objectTitle()),
	}
}

var reviewHeads = map[string][2]string{
	"approved":          {":white_check_mark:", "{Object} approved"},
	"changes_requested": {":x:", "Changes requested on {object}"},
	"commented":         {":speech_balloon:", "{Object} reviewed"},
	"dismissed":         {":no_entry_sign:", "Review[ by {reviewer}] dismissed on {object}"},
}

func reviewLayout(v *view) card {
	x := v.x
	state := strings.ToLower(x.ReviewState)
	if v.verb == "dismissed" {
		state = "dismissed"
	}
	h, ok := reviewHeads[state]
	if !ok {
		h = [2]string{":speech_balloon:", "Review " + humanize(v.verb) + " on {object}"}
	}
	if v.verb == "edited" {
		h = [2]string{":pencil2:", "Review edited on {object}"}
	}
	head := h[0] + " " + v.fill(h[1]) + v.by()
	review := ""
	if x.ReviewURL != "" {
		review = link(x.ReviewURL, "View review", 50)
	}
	reviewer := ""
	if state == "dismissed" && x.Reviewer != "" {
		// Whose review it was: mentioned where the people map knows them.
		reviewer = "Reviewer: " + v.person(x.Reviewer)
	}
	return card{
		header:   head,
		lines:    nonEmpty(v.targetLine(), meta(v.repoLink(), review), reviewer),
		quote:    x.CommentBody,
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), v.t.Title),
	}
}

func commentLayout(v *view) card {
	x, t := v.x, v.t
	on := v.objectWord()
	if v.name == "commit_comment" {
		on = "commit " + shortSHA(firstOf(x.SHA, t.Title))
	}
	noun := "comment"
	if v.name == "pull_request_review_comment" {
		noun = "review comment"
	}
	var head string
	switch v.verb {
	case "created":
		head = ":speech_balloon: New " + noun + " on " + on + v.by()
	default:
		head = ":speech_balloon: " + capitalize(noun) + " " + humanize(v.verb) + " on " + on + v.by()
	}
	var where string
	if x.Path != "" {
		p := x.Path
		if x.Line > 0 {
			p = fmt.Sprintf("%s:%d", p, x.Line)
		}
		where = code(p, 200)
	}
	obj := v.targetLine()
	if v.name == "commit_comment" {
		obj = ""
		if x.SHA != "" {
			obj = "*" + link(v.repoPath("commit", x.SHA), "Commit "+shortSHA(x.SHA), 50) + "*"
		}
	}
	comment := ""
	if x.CommentURL != "" {
		comment = link(x.CommentURL, "View comment", 50)
	}
	body := x.CommentBody
	if v.verb == "deleted" {
		body = ""
	}
	return card{
		header:   head,
		lines:    nonEmpty(obj, meta(v.repoLink(), where, comment)),
		quote:    body,
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), firstLine(firstOf(x.CommentBody, t.Title))),
	}
}

// pushLayout shows a push to any branch or tag: what was pushed, how
// many commits, the compare link and the commits, "and N more".
func pushLayout(v *view) card {
	x := v.x
	ref := refName(v)
	isTag := x.RefType == "tag" || strings.HasPrefix(x.Ref, "refs/tags/")
	n := x.CommitCount
	if n < len(x.Commits) {
		n = len(x.Commits)
	}
	commits := countNoun(n, "commit", "commits")
	var head string
	switch {
	case x.Deleted && isTag:
		head = ":wastebasket: Tag " + ref + " deleted"
	case x.Deleted:
		head = ":wastebasket: Branch " + ref + " deleted"
	case x.Created && isTag:
		head = ":label: Tag " + ref + " pushed"
	case x.Created && n > 0:
		head = ":seedling: Branch " + ref + " created with " + commits
	case x.Created:
		head = ":seedling: Branch " + ref + " created"
	case x.Forced:
		head = ":warning: Force-pushed " + firstOf(commits, "") + " to " + ref
	case isTag:
		head = ":label: Tag " + ref + " moved"
	case n == 0:
		head = ":arrow_up: Pushed to " + ref
	default:
		head = ":arrow_up: " + commits + " pushed to " + ref
	}
	head = strings.Join(strings.Fields(head), " ") + v.by()
	compare := ""
	if x.CompareURL != "" && !x.Deleted {
		compare = link(x.CompareURL, "Compare changes", 50)
	}
	where := branch(ref)
	if isTag && !x.Deleted {
		where = "tag " + link(v.repoPath("releases", "tag", ref), ref, 200)
	} else if !x.Deleted && ref != "" {
		where = link(v.repoPath("tree", ref), ref, 200)
	}
	var list []string
	for _, cm := range x.Commits {
		l := link(cm.URL, shortSHA(cm.ID), 40) + " " + Text(firstLine(cm.Message), 200)
		if cm.Author != "" {
			l += " — " + Text(cm.Author, 100)
		}
		list = append(list, l)
	}
	deleted := ""
	if x.Deleted && x.Before != "" {
		deleted = "was at " + v.commitLink(x.Before)
	}
	return card{
		header:   head,
		lines:    nonEmpty(meta(v.repoLink(), where, compare, deleted)),
		list:     list,
		more:     n - len(list),
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), ""),
	}
}

// refLayout is a branch or tag created or deleted (create, delete).
func refLayout(v *view) card {
	x := v.x
	ref := refName(v)
	kind := firstOf(x.RefType, v.t.Type, "ref")
	head := capitalize(kind) + " " + ref + " " + humanize(v.verb) + v.by()
	emoji := ":seedling:"
	var where string
	if v.name == "delete" {
		emoji = ":wastebasket:"
		where = branch(ref)
	} else {
		u := v.t.URL
		if u == "" && kind == "tag" {
			u = v.repoPath("releases", "tag", ref)
		} else if u == "" {
			u = v.repoPath("tree", ref)
		}
		where = "*" + link(u, ref, 200) + "*"
	}
	head = emoji + " " + strings.Join(strings.Fields(head), " ")
	return card{
		header:   head,
		lines:    nonEmpty(where, meta(v.repoLink(), Text(x.Description, 300))),
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), ""),
	}
}

// outcomeEmoji and outcomeWord lead the headers of checks, workflows,
// deployments and statuses with their result.
var outcomeWords = map[string][2]string{
	"success":          {":white_check_mark:", "Succeeded"},
	"failure":          {":x:", "Failed"},
	"error":            {":x:", "Errored"},
	"errored":          {":x:", "Errored"},
	"timed_out":        {":x:", "Timed out"},
	"startup_failure":  {":x:", "Failed to start"},
	"cancelled":        {":no_entry_sign:", "Cancelled"},
	"action_required":  {":warning:", "Action required"},
	"neutral":          {":white_circle:", "Neutral"},
	"skipped":          {":fast_forward:", "Skipped"},
	"stale":            {":hourglass:", "Stale"},
	"queued":           {":hourglass_flowing_sand:", "Queued"},
	"in_progress":      {":arrows_counterclockwise:", "In progress"},
	"building":         {":arrows_counterclockwise:", "Building"},
	"waiting":          {":hourglass_flowing_sand:", "Waiting"},
	"requested":        {":hourglass_flowing_sand:", "Requested"},
	"pending":          {":hourglass_flowing_sand:", "Pending"},
	"inactive":         {":white_circle:", "Inactive"},
	"built":            {":white_check_mark:", "Built"},
	"completed":        {":white_check_mark:", "Completed"},
	"checks_requested": {":hourglass_flowing_sand:", "Checks requested"},
	"destroyed":        {":wastebasket:", "Destroyed"},
}

// outcomeOf is the result an event reports: the conclusion, else the
// status, else the verb.
func outcomeOf(v *view) (emoji, word string) {
	x := v.x
	key := firstOf(x.Conclusion, x.Status, v.t.State, v.verb)
	if v.name == "check_run" && v.verb == "requested_action" {
		return ":point_right:", "Action requested"
	}
	if v.name == "merge_group" {
		key = v.verb
	}
	if w, ok := outcomeWords[strings.ToLower(key)]; ok {
		return w[0], w[1]
	}
	return ":information_source:", capitalize(humanize(key))
}

// outcomeLayout leads with the result: "✅ Succeeded: workflow CI on main".
func outcomeLayout(v *view) card {
	x, t := v.x, v.t
	emoji, word := outcomeOf(v)
	noun := v.spec().noun
	name := ""
	switch v.name {
	case "workflow_run":
		name = firstOf(x.WorkflowName, t.Title)
	case "workflow_job":
		name = firstOf(t.Title, x.WorkflowName)
	case "check_run", "check_suite":
		name = firstOf(t.Title, x.WorkflowName)
	case "deployment_status":
		noun = "deployment to"
		name = firstOf(x.Environment, t.Title)
	case "status":
		noun, name = "", firstOf(x.Context, "commit status")
	case "page_build":
		noun = "GitHub Pages"
	case "repository_import":
		noun = "import into " + v.repo()
	case "merge_group":
		noun = "merge queue checks"
	}
	ref := firstOf(t.HeadBranch, refName(v))
	head := emoji + " " + word + ": " + strings.TrimSpace(noun+" "+name)
	if ref != "" && v.name != "status" {
		head += " on " + ref
	}
	if v.name == "status" && x.SHA != "" {
		head += " on commit " + shortSHA(x.SHA)
	}
	objText := strings.TrimSpace(firstOf(t.Title, name))
	if v.name == "workflow_run" && t.Number > 0 {
		objText = fmt.Sprintf("%s #%d", firstOf(t.Title, name), t.Number)
	}
	obj := ""
	u := firstOf(t.URL, x.TargetURL)
	switch {
	case objText != "" && objText != name:
		obj = "*" + link(u, objText, 300) + "*"
	case u != "":
		// The header names it already: link it without repeating it.
		obj = "*" + link(u, "View "+strings.TrimSuffix(noun, " to"), 50) + "*"
	}
	var prs []string
	for _, n := range x.PullRequests {
		prs = append(prs, link(v.repoPath("pull", fmt.Sprint(n)), fmt.Sprintf("#%d", n), 20))
	}
	var trigger string
	if x.Trigger != "" {
		trigger = "on " + code(x.Trigger, 50)
	}
	who := ""
	if v.d.Actor.Login != "" {
		who = "by " + v.actorLink()
	}
	detailsLink := ""
	if x.TargetURL != "" && x.TargetURL != u {
		detailsLink = link(x.TargetURL, "Details", 50)
	}
	lines := nonEmpty(obj,
		meta(v.repoLink(), branchOrNone(ref), v.commitLink(x.SHA), trigger, who),
		meta(Text(x.Description, 500), detailsLink),
		prsLine(prs))
	return card{
		header:   head,
		lines:    lines,
		context:  nonEmpty(code(v.d.Kind, 100)),
		fallback: fallbackFor(v, stripEmoji(head), ""),
	}
}

func branchOrNone(ref string) string {
	if ref == "" {
		return ""
	}
	return branch(ref)
}

func prsLine(prs []string) string {
	if len(prs) == 0 {
		return ""
	}
	return "Pull requests: " + andMore(prs, 10, ", ")
}

// severityWords lead security headers with the severity.
var severityWords = map[string][2]string{
	"critical": {":red_circle:", "Critical"},
	"high":     {":large_orange_circle:", "High"},
	"medium":   {":large_yellow_circle:", "Medium"},
	"moderate": {":large_yellow_circle:", "Moderate"},
	"low":      {":white_circle:", "Low"},
	"error":    {":large_orange_circle:", "Error"},
	"warning":  {":large_yellow_circle:", "Warning"},
	"note":     {":white_circle:", "Note"},
}

// alertLayout leads with the severity and names the package, the
// advisory's identifiers and the alert's link.
func alertLayout(v *view) card {
	x, t := v.x, v.t
	s := v.spec()
	verb := humanize(v.verb)
	if w, ok := s.heads[v.verb]; ok {
		verb = v.fill(w)
	}
	sev := strings.ToLower(x.Severity)
	emoji, word := ":warning:", ""
	if w, ok := severityWords[sev]; ok {
		emoji, word = w[0], w[1]
	} else if sev != "" {
		word = capitalize(humanize(sev))
	}
	if strings.HasPrefix(v.name, "secret_scanning") {
		emoji = ":rotating_light:"
	}
	what := firstOf(x.Package, x.SecretType, x.Rule, x.GHSAID, t.Title)
	head := s.noun + " " + verb
	if word != "" {
		head = word + ": " + head
	}
	if what != "" {
		sep := ": "
		if x.Package != "" {
			sep = " for "
		}
		head += sep + what
	}
	head = emoji + " " + head
	ids := meta(advisoryLink(x.GHSAID), cveLink(x.CVEID))
	title := strings.TrimSpace(t.Title)
	if title == what {
		// The header names it already.
		title = ""
	}
	if n := v.number(); n != "" {
		title = strings.TrimSpace(n + " " + title)
	}
	obj := ""
	if title != "" {
		obj = "*" + link(t.URL, title, 300) + "*"
	} else if t.URL != "" {
		obj = "*" + link(t.URL, s.noun, 100) + "*"
	}
	pkg := ""
	switch {
	case x.Package != "" && !strings.Contains(head, x.Package):
		pkg = "Package " + code(x.Package, 200)
		if x.Ecosystem != "" {
			pkg += " (" + Text(x.Ecosystem, 50) + ")"
		}
	case x.Ecosystem != "":
		pkg = Text(x.Ecosystem, 50) + " package"
	}
	versions := meta(prefixed("vulnerable ", code(x.VulnerableRange, 100)), prefixed("fixed in ", code(x.PatchedVersion, 100)))
	where := ""
	if x.Path != "" {
		p := x.Path
		if x.Line > 0 {
			p = fmt.Sprintf("%s:%d", p, x.Line)
		}
		where = code(p, 200)
	}
	rule := ""
	if x.Rule != "" && x.Rule != what {
		rule = "rule " + code(x.Rule, 100)
	}
	tool := ""
	if x.Tool != "" {
		tool = "found by " + Text(x.Tool, 50)
	}
	reason := ""
	if x.Reason != "" {
		reason = "reason: " + Text(humanize(x.Reason), 100)
	}
	secret := ""
	if x.SecretType != "" && x.SecretType != what {
		secret = Text(x.SecretType, 100)
	}
	who := ""
	if v.d.Actor.Login != "" {
		who = "by " + v.actorLink()
	}
	lines := nonEmpty(obj,
		meta(ids, pkg, versions),
		meta(where, rule, tool, secret, branchOrNone(refName(v))),
		meta(v.repoLink(), reason, who))
	return card{
		header:   head,
		lines:    lines,
		quote:    x.CommentBody,
		context:  nonEmpty(code(v.d.Kind, 100)),
		fallback: fallbackFor(v, stripEmoji(head), firstOf(x.GHSAID, x.CVEID)),
	}
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func advisoryLink(id string) string {
	if id == "" {
		return ""
	}
	return link("https://github.com/advisories/"+id, id, 60)
}

func cveLink(id string) string {
	if id == "" {
		return ""
	}
	return link("https://www.cve.org/CVERecord?id="+id, id, 60)
}

// deploymentLayout is a deployment created, reviewed or gated.
func deploymentLayout(v *view) card {
	x := v.x
	head := v.header()
	reviewers := ""
	if v.verb == "requested" && (len(x.RequestedReviewers) > 0 || len(x.RequestedTeams) > 0) {
		reviewers = "Reviewers: " + strings.Join(nonEmpty(v.people(x.RequestedReviewers, 10), v.teams(x.RequestedTeams, 5)), ", ")
	}
	obj := v.objectLink(head)
	if obj == "" && x.Environment != "" && !strings.Contains(head, x.Environment) {
		obj = "*" + Text(x.Environment, 200) + "*"
	}
	var trigger string
	if x.Trigger != "" {
		trigger = "on " + code(x.Trigger, 50)
	}
	return card{
		header:   head,
		lines:    nonEmpty(obj, meta(v.repoLink(), branchOrNone(refName(v)), v.commitLink(x.SHA), trigger), Text(x.Description, 500), reviewers),
		quote:    x.CommentBody,
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), ""),
	}
}

// starLayout is a star (star, and watch, which GitHub sends when
// someone stars a repository).
func starLayout(v *view) card {
	x := v.x
	verb := "starred"
	if v.verb == "deleted" {
		verb = "unstarred"
	}
	who := firstOf(v.actor(), "Someone")
	head := ":star: " + who + " " + verb + " " + v.repo()
	count := ""
	if x.StarCount > 0 {
		count = countNoun(x.StarCount, "star", "stars") + " now"
	}
	return card{
		header:   head,
		lines:    nonEmpty(meta(v.actorLink()+" "+verb+" "+v.repoLink(), count)),
		context:  nonEmpty(code(v.d.Kind, 100)),
		fallback: fallbackFor(v, stripEmoji(head), ""),
	}
}

func forkLayout(v *view) card {
	x, t := v.x, v.t
	name := firstOf(x.ForkName, t.Title)
	u := firstOf(x.ForkURL, t.URL)
	head := ":fork_and_knife: " + firstOf(v.actor(), "Someone") + " forked " + v.repo()
	fork := ""
	if name != "" {
		fork = "New fork: *" + link(u, name, 200) + "*"
	}
	count := ""
	if x.StarCount > 0 {
		count = countNoun(x.StarCount, "star", "stars")
	}
	return card{
		header:   head,
		lines:    nonEmpty(fork, meta(v.repoLink(), count)),
		context:  nonEmpty(code(v.d.Kind, 100)),
		fallback: fallbackFor(v, stripEmoji(head), name),
	}
}

func wikiLayout(v *view) card {
	x := v.x
	n := firstNonZero(x.PageCount, len(x.Pages))
	var head string
	if n == 0 {
		head = ":book: Wiki updated" + v.by()
	} else if n == 1 && len(x.Pages) == 1 {
		head = ":book: Wiki page " + humanize(x.Pages[0].Action) + v.by()
	} else {
		head = ":book: " + countNoun(n, "wiki page", "wiki pages") + " updated" + v.by()
	}
	head = strings.Join(strings.Fields(head), " ")
	var list []string
	for _, p := range x.Pages {
		list = append(list, "*"+link(p.URL, p.Title, 200)+"* "+Text(humanize(p.Action), 20))
	}
	title := ""
	if len(x.Pages) > 0 {
		title = x.Pages[0].Title
	}
	return card{
		header:   head,
		lines:    nonEmpty(v.repoLink()),
		list:     list,
		more:     n - len(list),
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), title),
	}
}

func pingLayout(v *view) card {
	head := ":wave: Webhook connected"
	where := v.repo()
	if where != "" {
		head += " to " + where
	}
	return card{
		header:   head,
		lines:    nonEmpty(meta(v.repoLink(), v.targetLine())),
		quote:    v.x.Zen,
		context:  v.context(),
		fallback: fallbackFor(v, stripEmoji(head), v.x.Zen),
	}
}

// genericLayout serves events GitHub adds later: it says what happened
// and names whatever object the event carries.
func genericLayout(v *view) card {
	head := capitalize(humanize(v.name)) + " " + humanize(v.verb)
	if t := v.d.Target; t != nil && t.Type != "" && t.Type != v.name {
		head = capitalize(humanize(t.Type)) + " " + humanize(v.verb)
	}
	head += v.by()
	return card{
		header:   head,
		lines:    nonEmpty(v.objectLine(), meta(v.repoLink(), v.facts())),
		quote:    firstOf(v.x.CommentBody, v.quote()),
		context:  v.context(),
		fallback: fallbackFor(v, head, v.objectTitle()),
	}
}
