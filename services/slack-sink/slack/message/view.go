package message

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ghnotify/ghnotify/shared/event"
)

// view is an event as layouts read it: never-nil target and details,
// the event name and verb, and whom the message may mention.
type view struct {
	ev   *event.Event
	d    *event.Data
	t    *event.Target
	x    *event.Details
	name string // GitHub's event name: pull_request
	verb string // the kind's verb: opened, merged, synchronize
	opts Options
	// notify collects the mentions made while rendering.
	notify []string
}

func newView(ev *event.Event, opts Options) *view {
	v := &view{ev: ev, d: &ev.Data, t: ev.Data.Target, x: ev.Data.Details, opts: opts}
	if v.t == nil {
		v.t = &event.Target{}
	}
	if v.x == nil {
		v.x = &event.Details{}
	}
	name, verb, _ := strings.Cut(ev.Data.Kind, ".")
	v.name, v.verb = name, verb
	if v.name == "" {
		v.name = ev.Data.Event
	}
	return v
}

// actor is "@login" of whoever caused the event, "" when unknown.
func (v *view) actor() string {
	if v.d.Actor.Login == "" {
		return ""
	}
	return "@" + v.d.Actor.Login
}

// by is " by @login", "" when the actor is unknown.
func (v *view) by() string {
	if a := v.actor(); a != "" {
		return " by " + a
	}
	return ""
}

// repo is the repository's full name, or the organization's login.
func (v *view) repo() string {
	if r := v.d.Repository; r != nil {
		if r.FullName != "" {
			return r.FullName
		}
		if r.Owner != "" {
			return r.Owner + "/" + r.Name
		}
	}
	return v.d.Organization
}

// owner is the repository's owner or the organization.
func (v *view) owner() string {
	if r := v.d.Repository; r != nil && r.Owner != "" {
		return r.Owner
	}
	if v.d.Organization != "" {
		return v.d.Organization
	}
	owner, _, _ := strings.Cut(v.repo(), "/")
	return owner
}

func (v *view) repoURL() string {
	if r := v.d.Repository; r != nil && r.URL != "" {
		return r.URL
	}
	if r := v.repo(); r != "" && safeURL("https://github.com/"+r) != "" {
		return "https://github.com/" + r
	}
	return ""
}

// repoLink is the repository as a link, "" when the event has none.
func (v *view) repoLink() string {
	full := v.repo()
	if full == "" {
		return ""
	}
	return link(v.repoURL(), full, 200)
}

// repoPath returns a URL inside the repository: its URL + "/" + the
// path-escaped segments, "" when there is no repository URL.
func (v *view) repoPath(segments ...string) string {
	base := v.repoURL()
	if base == "" {
		return ""
	}
	parts := make([]string, len(segments))
	for i, s := range segments {
		parts[i] = url.PathEscape(s)
	}
	return strings.TrimSuffix(base, "/") + "/" + strings.Join(parts, "/")
}

// actorLink is the actor as a link to their profile.
func (v *view) actorLink() string {
	a := v.d.Actor
	if a.Login == "" {
		return ""
	}
	u := a.URL
	if u == "" {
		u = "https://github.com/" + url.PathEscape(a.Login)
	}
	return link(u, "@"+a.Login, 100)
}

// person is a GitHub login as mrkdwn: the Slack mention the people map
// gives it, or plain @login.
func (v *view) person(login string) string {
	if login == "" {
		return ""
	}
	if v.opts.People != nil {
		if id, ok := v.opts.People.User(login); ok {
			if m := slackMention(id); m != "" && strings.HasPrefix(m, "<@") {
				v.notify = appendNew(v.notify, m)
				return m
			}
		}
	}
	return Text("@"+login, 100)
}

// team is a GitHub team as mrkdwn: the user group the people map gives
// it, or plain @org/slug.
func (v *view) team(slug string) string {
	if slug == "" {
		return ""
	}
	org := v.owner()
	if v.opts.People != nil {
		if id, ok := v.opts.People.Team(org, slug); ok {
			if m := slackMention(id); m != "" && strings.HasPrefix(m, "<!subteam^") {
				v.notify = appendNew(v.notify, m)
				return m
			}
		}
	}
	if org != "" && !strings.Contains(slug, "/") {
		slug = org + "/" + slug
	}
	return Text("@"+slug, 100)
}

// people lists logins as mrkdwn, mentioning the mapped ones.
func (v *view) people(logins []string, max int) string {
	items := make([]string, 0, len(logins))
	for _, l := range logins {
		if p := v.person(l); p != "" {
			items = append(items, p)
		}
	}
	return andMore(items, max, ", ")
}

// teams lists team slugs as mrkdwn, mentioning the mapped ones.
func (v *view) teams(slugs []string, max int) string {
	items := make([]string, 0, len(slugs))
	for _, s := range slugs {
		if t := v.team(s); t != "" {
			items = append(items, t)
		}
	}
	return andMore(items, max, ", ")
}

// number is "#12" for a numbered target, "" otherwise.
func (v *view) number() string {
	if v.t.Number > 0 {
		return fmt.Sprintf("#%d", v.t.Number)
	}
	return ""
}

// targetLine is the target as a bold link: "*<url|#12 Title>*".
func (v *view) targetLine() string {
	text := strings.TrimSpace(v.t.Title)
	if n := v.number(); n != "" {
		text = strings.TrimSpace(n + " " + text)
	}
	if text == "" {
		if v.t.URL == "" {
			return ""
		}
		text = v.t.URL
	}
	return "*" + link(v.t.URL, text, 500) + "*"
}

// shortSHA is the first 7 characters of a commit id.
func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// commitLink links a commit of the repository by its short id.
func (v *view) commitLink(sha string) string {
	if sha == "" {
		return ""
	}
	return link(v.repoPath("commit", sha), shortSHA(sha), 40)
}

// branch shows a branch or tag name as code.
func branch(name string) string { return code(name, 200) }

func labelsLine(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, code(l, 50))
	}
	return "Labels: " + andMore(parts, 10, " ")
}

// meta joins the non-empty parts with " · ".
func meta(parts ...string) string {
	return strings.Join(nonEmpty(parts...), " · ")
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

// humanize turns an action or name into words: ready_for_review → ready for review.
func humanize(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "_", " "), "-", " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'a' && r[0] <= 'z' {
		r[0] -= 'a' - 'A'
	}
	return string(r)
}
