package schedule

import (
	"sort"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/event"
)

// Limits of one digest: the groups it lists and the links each group shows.
// Whatever is past them is counted ("and N more"), never dropped silently.
const (
	MaxGroups     = 40
	MaxGroupLinks = 5
)

// Item is what a digest keeps of one collected event.
type Item struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Repo    string `json:"repo,omitempty"`
	RepoURL string `json:"repo_url,omitempty"`
	Actor   string `json:"actor,omitempty"`
	// Title and URL link the item: the issue or pull request, the fork,
	// the compare view of a push, the actor of a star.
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
	// Branch is a push's branch; Feature marks a push to a branch other
	// than the default one.
	Branch  string `json:"branch,omitempty"`
	Feature bool   `json:"feature,omitempty"`
}

// ItemOf is what a digest keeps of ev.
func ItemOf(ev *event.Event) Item {
	d := ev.Data
	it := Item{ID: ev.ID, Kind: d.Kind, Actor: d.Actor.Login}
	if r := d.Repository; r != nil {
		it.Repo, it.RepoURL = r.FullName, r.URL
	}
	if t := d.Target; t != nil {
		it.Title, it.URL = t.Title, t.URL
	}
	if det := d.Details; det != nil {
		switch {
		case det.ForkURL != "":
			it.Title, it.URL = det.ForkName, det.ForkURL
		case strings.HasPrefix(det.Ref, "refs/heads/"):
			it.Branch = strings.TrimPrefix(det.Ref, "refs/heads/")
			it.URL = det.CompareURL
			it.Title = it.Branch
			if r := d.Repository; r != nil && r.DefaultBranch != "" && it.Branch != r.DefaultBranch {
				it.Feature = true
			}
		}
	}
	if it.URL == "" && it.Title == "" {
		it.Title, it.URL = d.Actor.Login, d.Actor.URL
	}
	return it
}

// Group is the items of one repository and kind.
type Group struct {
	Repo    string `json:"repo,omitempty"`
	RepoURL string `json:"repo_url,omitempty"`
	Kind    string `json:"kind"`
	Feature bool   `json:"feature,omitempty"`
	Count   int    `json:"count"`
	// Links are the first MaxGroupLinks items.
	Links []Item `json:"links,omitempty"`
}

// Batch is one digest: what a route collected for a destination in one
// period, grouped by repository and kind.
type Batch struct {
	ID          string    `json:"id"`
	Route       string    `json:"route"`
	Destination string    `json:"destination"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Zone names the digest's time zone, for showing the period.
	Zone   string  `json:"zone,omitempty"`
	Total  int     `json:"total"`
	Groups []Group `json:"groups"`
	// MoreGroups counts the groups past MaxGroups, MoreItems their items.
	MoreGroups int `json:"more_groups,omitempty"`
	MoreItems  int `json:"more_items,omitempty"`
}

// Gather builds the batch of items, skipping repeated ids (an event
// collected twice counts once). Groups are ordered by size, then
// repository and kind; past MaxGroups they are counted.
func Gather(b Batch, items []Item) Batch {
	seen := map[string]bool{}
	idx := map[string]int{}
	var groups []Group
	for _, it := range items {
		if it.ID != "" {
			if seen[it.ID] {
				continue
			}
			seen[it.ID] = true
		}
		key := it.Repo + "\x00" + it.Kind
		if it.Feature {
			key += "\x00feature"
		}
		i, ok := idx[key]
		if !ok {
			i = len(groups)
			idx[key] = i
			groups = append(groups, Group{Repo: it.Repo, RepoURL: it.RepoURL, Kind: it.Kind, Feature: it.Feature})
		}
		g := &groups[i]
		g.Count++
		if len(g.Links) < MaxGroupLinks {
			g.Links = append(g.Links, it)
		}
		b.Total++
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].Count != groups[j].Count {
			return groups[i].Count > groups[j].Count
		}
		if groups[i].Repo != groups[j].Repo {
			return groups[i].Repo < groups[j].Repo
		}
		return groups[i].Kind < groups[j].Kind
	})
	if len(groups) > MaxGroups {
		for _, g := range groups[MaxGroups:] {
			b.MoreGroups++
			b.MoreItems += g.Count
		}
		groups = groups[:MaxGroups]
	}
	b.Groups = groups
	return b
}
