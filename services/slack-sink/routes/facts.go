package routes

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/ghnotify/ghnotify/shared/event"
)

// Facts is the view of one canonical event that conditions look at,
// computed once per event: lowercased names, the pushed branch and every
// changed path the payload lists.
type Facts struct {
	Event *event.Event
	// Kind is the event's kind, for example "pull_request.merged".
	Kind string
	// Repo is "owner/name" lowercased; Owner the owner lowercased.
	Repo, Owner string
	// Actor is the actor's login lowercased; Bot whether it is a bot.
	Actor string
	Bot   bool
	// Labels are the target's labels lowercased.
	Labels []string
	// Base and Head are the pull request's branches.
	Base, Head string
	// Branch is the pushed, created or deleted branch (refs/heads/ removed).
	Branch string
	// Draft and Merged are the target's flags, nil where the event has none.
	Draft, Merged *bool
	// Paths are the changed paths the payload lists; HasPaths says whether
	// the payload lists any at all.
	Paths    []string
	HasPaths bool

	envOnce sync.Once
	env     map[string]any
	envErr  error
}

// NewFacts computes the facts of ev.
func NewFacts(ev *event.Event) *Facts {
	d := &ev.Data
	f := &Facts{Event: ev, Kind: strings.ToLower(d.Kind), Actor: strings.ToLower(d.Actor.Login), Bot: d.Actor.Bot}
	if r := d.Repository; r != nil {
		f.Owner = strings.ToLower(r.Owner)
		full := r.FullName
		if full == "" && r.Owner != "" && r.Name != "" {
			full = r.Owner + "/" + r.Name
		}
		f.Repo = strings.ToLower(full)
	}
	if f.Owner == "" {
		f.Owner = strings.ToLower(d.Organization)
	}
	if t := d.Target; t != nil {
		for _, l := range t.Labels {
			f.Labels = append(f.Labels, strings.ToLower(l))
		}
		f.Base, f.Head = t.BaseBranch, t.HeadBranch
		f.Draft, f.Merged = t.Draft, t.Merged
	}
	if dt := d.Details; dt != nil {
		if dt.RefType == "" || dt.RefType == "branch" {
			f.Branch = strings.TrimPrefix(dt.Ref, "refs/heads/")
			if strings.HasPrefix(dt.Ref, "refs/") && !strings.HasPrefix(dt.Ref, "refs/heads/") {
				f.Branch = ""
			}
		}
		seen := map[string]bool{}
		add := func(ps []string) {
			for _, p := range ps {
				if !seen[p] {
					seen[p] = true
					f.Paths = append(f.Paths, p)
				}
			}
		}
		add(dt.ChangedPaths)
		for _, c := range dt.Commits {
			add(c.Added)
			add(c.Removed)
			add(c.Modified)
		}
		if hc := dt.HeadCommit; hc != nil {
			add(hc.Added)
			add(hc.Removed)
			add(hc.Modified)
		}
		f.HasPaths = len(f.Paths) > 0
	}
	if f.Kind == "pull_request.merged" && f.Merged == nil {
		t := true
		f.Merged = &t
	}
	return f
}

// Env returns the variables an expression sees: the event as its CloudEvents
// JSON (id, type, source, subject, time, data with snake_case fields) plus
// the shortcuts kind, repo, owner, actor, bot and labels.
func (f *Facts) Env() (map[string]any, error) {
	f.envOnce.Do(func() {
		b, err := json.Marshal(f.Event)
		if err != nil {
			f.envErr = err
			return
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			f.envErr = err
			return
		}
		for k, v := range shortcuts(f) {
			m[k] = v
		}
		f.env = m
	})
	return f.env, f.envErr
}

func shortcuts(f *Facts) map[string]any {
	labels := make([]any, len(f.Labels))
	for i, l := range f.Labels {
		labels[i] = l
	}
	return map[string]any{
		"kind": f.Kind, "repo": f.Repo, "owner": f.Owner, "actor": f.Actor, "bot": f.Bot, "labels": labels,
	}
}

// exprEnvSample is the shape expressions are checked against at load.
func exprEnvSample() map[string]any {
	m := map[string]any{
		"specversion": "", "id": "", "source": "", "type": "", "subject": "", "time": "", "datacontenttype": "",
		"data": map[string]any{},
	}
	for k, v := range shortcuts(&Facts{}) {
		m[k] = v
	}
	return m
}
