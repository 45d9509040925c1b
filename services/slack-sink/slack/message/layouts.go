package message

import (
	"fmt"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
)

type layoutFunc func(ev *event.Event) card

// Layouts maps every kind with a layout of its own to the layout's name;
// every other kind uses the "generic" layout.
var Layouts = map[string]string{
	"issues.opened":                       "issue",
	"issues.closed":                       "issue",
	"issues.reopened":                     "issue",
	"pull_request.opened":                 "pull_request",
	"pull_request.merged":                 "pull_request",
	"pull_request.closed":                 "pull_request",
	"pull_request.reopened":               "pull_request",
	"pull_request.ready_for_review":       "pull_request",
	"pull_request.review_requested":       "review_requested",
	"pull_request_review.submitted":       "review",
	"issue_comment.created":               "comment",
	"pull_request_review_comment.created": "comment",
	"commit_comment.created":              "comment",
	"discussion_comment.created":          "comment",
	"push.pushed":                         "push",
	"release.published":                   "release",
	"workflow_run.completed":              "workflow_failed",
	"star.created":                        "star",
	"fork.created":                        "fork",
	"watch.started":                       "watch",
}

var layoutFuncs = map[string]layoutFunc{
	"issue":            issueLayout,
	"pull_request":     pullRequestLayout,
	"review_requested": reviewRequestedLayout,
	"review":           reviewLayout,
	"comment":          commentLayout,
	"push":             pushLayout,
	"release":          releaseLayout,
	"workflow_failed":  workflowFailedLayout,
	"star":             starLayout,
	"fork":             forkLayout,
	"watch":            watchLayout,
	"generic":          genericLayout,
}

func layoutFor(ev *event.Event) (string, layoutFunc) {
	name, ok := Layouts[ev.Data.Kind]
	if !ok {
		name = "generic"
	}
	switch name {
	case "push":
		// Only pushes to the default branch get the push layout.
		d, r := ev.Data.Details, ev.Data.Repository
		if d == nil || r == nil || r.DefaultBranch == "" || d.Ref != "refs/heads/"+r.DefaultBranch || d.Deleted {
			name = "generic"
		}
	case "workflow_failed":
		if d := ev.Data.Details; d == nil || (d.Conclusion != "failure" && d.Conclusion != "timed_out") {
			name = "generic"
		}
	}
	return name, layoutFuncs[name]
}

func repoFull(ev *event.Event) string {
	if r := ev.Data.Repository; r != nil {
		if r.FullName != "" {
			return r.FullName
		}
		if r.Owner != "" {
			return r.Owner + "/" + r.Name
		}
	}
	return ev.Data.Organization
}

func repoLink(ev *event.Event) string {
	full := repoFull(ev)
	if full == "" {
		return ""
	}
	url := ""
	if r := ev.Data.Repository; r != nil {
		url = r.URL
	}
	return link(url, full, 200)
}

func actorLink(ev *event.Event) string {
	a := ev.Data.Actor
	if a.Login == "" {
		return ""
	}
	return link(a.URL, "@"+a.Login, 100)
}

// baseContext is the repository and the actor.
func baseContext(ev *event.Event) []string {
	var out []string
	if r := repoLink(ev); r != "" {
		out = append(out, r)
	}
	if a := actorLink(ev); a != "" {
		out = append(out, "by "+a)
	}
	return out
}

func target(ev *event.Event) *event.Target {
	if ev.Data.Target != nil {
		return ev.Data.Target
	}
	return &event.Target{}
}

func details(ev *event.Event) *event.Details {
	if ev.Data.Details != nil {
		return ev.Data.Details
	}
	return &event.Details{}
}

// targetLine is "*<url|#12 Title>*".
func targetLine(t *event.Target) string {
	text := t.Title
	if t.Number > 0 {
		text = fmt.Sprintf("#%d %s", t.Number, t.Title)
	}
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return "*" + link(t.URL, text, 500) + "*"
}

func labelsLine(t *event.Target) string {
	if len(t.Labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(t.Labels))
	for _, l := range t.Labels {
		parts = append(parts, "`"+Fit(l, 50)+"`")
	}
	return "Labels: " + strings.Join(parts, " ")
}

func nonEmpty(lines ...string) []string {
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func verbOf(kind string) string {
	_, verb, _ := strings.Cut(kind, ".")
	return strings.ReplaceAll(verb, "_", " ")
}

func fallback(ev *event.Event, what string) string {
	s := what
	if r := repoFull(ev); r != "" {
		s = "[" + r + "] " + s
	}
	if a := ev.Data.Actor.Login; a != "" {
		s += " by @" + a
	}
	return s
}

var issueEmoji = map[string]string{"opened": ":large_green_circle:", "closed": ":red_circle:", "reopened": ":large_green_circle:"}

func issueLayout(ev *event.Event) card {
	t, verb := target(ev), verbOf(ev.Data.Kind)
	c := card{
		header:   fmt.Sprintf("%s Issue #%d %s: %s", issueEmoji[verb], t.Number, verb, t.Title),
		lines:    nonEmpty(targetLine(t), labelsLine(t)),
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("Issue #%d %s: %s", t.Number, verb, t.Title)),
	}
	if verb == "opened" {
		c.quote = t.Body
	}
	return c
}

var prEmoji = map[string]string{"opened": ":large_green_circle:", "merged": ":large_purple_circle:", "closed": ":red_circle:", "reopened": ":large_green_circle:", "ready for review": ":eyes:"}

func branches(t *event.Target) string {
	if t.HeadBranch == "" || t.BaseBranch == "" {
		return ""
	}
	return "`" + Fit(t.HeadBranch, 200) + "` → `" + Fit(t.BaseBranch, 200) + "`"
}

func pullRequestLayout(ev *event.Event) card {
	t, verb := target(ev), verbOf(ev.Data.Kind)
	draft := ""
	if t.Draft != nil && *t.Draft && verb == "opened" {
		draft = "_Draft_"
	}
	c := card{
		header:   fmt.Sprintf("%s Pull request #%d %s: %s", prEmoji[verb], t.Number, verb, t.Title),
		lines:    nonEmpty(targetLine(t), branches(t), draft, labelsLine(t)),
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("Pull request #%d %s: %s", t.Number, verb, t.Title)),
	}
	if verb == "opened" {
		c.quote = t.Body
	}
	return c
}

func logins(names []string, prefix string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, prefix+Fit(n, 100))
	}
	return strings.Join(parts, ", ")
}

func reviewRequestedLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	who := logins(d.RequestedReviewers, "@")
	if teams := logins(d.RequestedTeams, "team "); teams != "" {
		who = strings.Trim(who+", "+teams, ", ")
	}
	line := ""
	if who != "" {
		line = "Review requested from " + who
	}
	return card{
		header:   fmt.Sprintf(":eyes: Review requested on #%d: %s", t.Number, t.Title),
		lines:    nonEmpty(targetLine(t), line),
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("Review requested on pull request #%d: %s", t.Number, t.Title)),
	}
}

var reviewWords = map[string][2]string{
	"approved":          {":white_check_mark:", "approved"},
	"changes_requested": {":x:", "requested changes on"},
	"commented":         {":speech_balloon:", "reviewed"},
}

func reviewLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	word, ok := reviewWords[strings.ToLower(d.ReviewState)]
	if !ok {
		word = [2]string{":speech_balloon:", "reviewed"}
	}
	review := ""
	if d.ReviewURL != "" {
		review = link(d.ReviewURL, "View review", 50)
	}
	return card{
		header:   fmt.Sprintf("%s %s %s #%d: %s", word[0], ev.Data.Actor.Login, word[1], t.Number, t.Title),
		lines:    nonEmpty(targetLine(t), review),
		quote:    d.CommentBody,
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("Review (%s) on pull request #%d: %s", d.ReviewState, t.Number, t.Title)),
	}
}

func commentLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	on := "New comment"
	if t.Number > 0 {
		on = fmt.Sprintf("New comment on #%d: %s", t.Number, t.Title)
	}
	comment := ""
	if d.CommentURL != "" {
		comment = link(d.CommentURL, "View comment", 50)
	}
	return card{
		header:   ":speech_balloon: " + on,
		lines:    nonEmpty(targetLine(t), comment),
		quote:    d.CommentBody,
		context:  baseContext(ev),
		fallback: fallback(ev, on),
	}
}

func pushLayout(ev *event.Event) card {
	d := details(ev)
	branch := strings.TrimPrefix(d.Ref, "refs/heads/")
	n := d.CommitCount
	if n == 0 {
		n = len(d.Commits)
	}
	noun := "commits"
	if n == 1 {
		noun = "commit"
	}
	forced := ""
	if d.Forced {
		forced = ":warning: Force-pushed"
	}
	compare := ""
	if d.CompareURL != "" {
		compare = link(d.CompareURL, "Compare changes", 50)
	}
	var list []string
	for _, cm := range d.Commits {
		id := cm.ID
		if len(id) > 7 {
			id = id[:7]
		}
		l := link(cm.URL, id, 7) + " " + Fit(firstLine(cm.Message), 200)
		if cm.Author != "" {
			l += " — " + Fit(cm.Author, 100)
		}
		list = append(list, l)
	}
	return card{
		header:   fmt.Sprintf(":arrow_up: %d %s pushed to %s", n, noun, branch),
		lines:    nonEmpty(compare, forced),
		list:     list,
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("%d %s pushed to %s", n, noun, branch)),
	}
}

func releaseLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	name := t.Title
	if name == "" {
		name = d.TagName
	}
	pre := ""
	if d.Prerelease {
		pre = "_Pre-release_"
	}
	return card{
		header:   ":rocket: Release " + name + " published",
		lines:    nonEmpty("*"+link(t.URL, name, 200)+"*", tagLine(d.TagName), pre),
		quote:    t.Body,
		context:  baseContext(ev),
		fallback: fallback(ev, "Release "+name+" published"),
	}
}

func tagLine(tag string) string {
	if tag == "" {
		return ""
	}
	return "Tag `" + Fit(tag, 200) + "`"
}

func workflowFailedLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	name := d.WorkflowName
	if name == "" {
		name = t.Title
	}
	branch := ""
	if t.HeadBranch != "" {
		branch = "Branch `" + Fit(t.HeadBranch, 200) + "`"
	}
	sha := ""
	if len(d.SHA) >= 7 {
		sha = "Commit `" + Fit(d.SHA[:7], 7) + "`"
	}
	return card{
		header:   fmt.Sprintf(":x: Workflow %s %s", name, strings.ReplaceAll(d.Conclusion, "_", " ")),
		lines:    nonEmpty("*"+link(t.URL, name, 200)+"*", branch, sha),
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("Workflow %s %s", name, d.Conclusion)),
	}
}

func starLayout(ev *event.Event) card {
	d := details(ev)
	count := ""
	if d.StarCount > 0 {
		count = fmt.Sprintf("%d stars now", d.StarCount)
	}
	return card{
		header:   fmt.Sprintf(":star: %s starred %s", ev.Data.Actor.Login, repoFull(ev)),
		lines:    nonEmpty(actorLink(ev)+" starred "+repoLink(ev), count),
		context:  baseContext(ev),
		fallback: fallback(ev, "New star"),
	}
}

func forkLayout(ev *event.Event) card {
	d := details(ev)
	fork := ""
	if d.ForkName != "" {
		fork = "New fork: *" + link(d.ForkURL, d.ForkName, 200) + "*"
	}
	return card{
		header:   fmt.Sprintf(":fork_and_knife: %s forked %s", ev.Data.Actor.Login, repoFull(ev)),
		lines:    nonEmpty(fork),
		context:  baseContext(ev),
		fallback: fallback(ev, "New fork "+d.ForkName),
	}
}

func watchLayout(ev *event.Event) card {
	return card{
		header:   fmt.Sprintf(":eyes: %s is watching %s", ev.Data.Actor.Login, repoFull(ev)),
		lines:    nonEmpty(actorLink(ev) + " started watching " + repoLink(ev)),
		context:  baseContext(ev),
		fallback: fallback(ev, "New watcher"),
	}
}

func genericLayout(ev *event.Event) card {
	t, d := target(ev), details(ev)
	what := strings.ReplaceAll(ev.Data.Event, "_", " ")
	verb := verbOf(ev.Data.Kind)
	var lines []string
	lines = append(lines, targetLine(t))
	if d.Ref != "" {
		lines = append(lines, "Ref `"+Fit(d.Ref, 200)+"`")
	}
	if d.Conclusion != "" {
		lines = append(lines, "Conclusion: "+Fit(d.Conclusion, 100))
	} else if d.Status != "" {
		lines = append(lines, "Status: "+Fit(d.Status, 100))
	}
	if d.Label != "" {
		lines = append(lines, "Label `"+Fit(d.Label, 100)+"`")
	}
	if d.Description != "" {
		lines = append(lines, Fit(d.Description, 500))
	}
	return card{
		header:   fmt.Sprintf("%s %s", capitalize(what), verb),
		lines:    nonEmpty(lines...),
		quote:    d.CommentBody,
		context:  baseContext(ev),
		fallback: fallback(ev, fmt.Sprintf("%s %s", capitalize(what), verb)),
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
