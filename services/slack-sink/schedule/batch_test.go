package schedule

import (
	"fmt"
	"testing"

	"github.com/ghnotify/ghnotify/shared/event"
)

func TestItemOfPush(t *testing.T) {
	ev := &event.Event{ID: "e1", Data: event.Data{Kind: "push.pushed",
		Repository: &event.Repository{FullName: "acme/rocket", DefaultBranch: "main"},
		Details:    &event.Details{Ref: "refs/heads/feature/x", CompareURL: "https://github.com/acme/rocket/compare/a...b"}}}
	it := ItemOf(ev)
	if !it.Feature || it.Branch != "feature/x" || it.URL == "" {
		t.Fatalf("item %+v, want a feature-branch push with its compare link", it)
	}
	ev.Data.Details.Ref = "refs/heads/main"
	if ItemOf(ev).Feature {
		t.Fatal("a push to the default branch is not a feature push")
	}
}

func TestGather(t *testing.T) {
	var items []Item
	add := func(n int, repo, kind string, feature bool) {
		for i := range n {
			items = append(items, Item{ID: fmt.Sprintf("%s-%s-%t-%d", repo, kind, feature, i), Kind: kind, Repo: repo, Feature: feature, Title: fmt.Sprint(i)})
		}
	}
	add(12, "acme/rocket", "star.created", false)
	add(5, "acme/rocket", "push.pushed", true)
	add(2, "acme/rocket", "push.pushed", false)
	add(3, "acme/comet", "fork.created", false)
	items = append(items, items[0]) // collected twice: counts once
	b := Gather(Batch{}, items)
	if b.Total != 22 {
		t.Errorf("total %d, want 22", b.Total)
	}
	want := []struct {
		repo, kind string
		feature    bool
		count      int
	}{{"acme/rocket", "star.created", false, 12}, {"acme/rocket", "push.pushed", true, 5}, {"acme/comet", "fork.created", false, 3}, {"acme/rocket", "push.pushed", false, 2}}
	if len(b.Groups) != len(want) {
		t.Fatalf("groups %+v", b.Groups)
	}
	for i, w := range want {
		g := b.Groups[i]
		if g.Repo != w.repo || g.Kind != w.kind || g.Feature != w.feature || g.Count != w.count {
			t.Errorf("group %d = %s %s feature=%t %d, want %+v", i, g.Repo, g.Kind, g.Feature, g.Count, w)
		}
		if len(g.Links) != min(w.count, MaxGroupLinks) {
			t.Errorf("group %d has %d links", i, len(g.Links))
		}
	}
}

func TestGatherCountsWhatIsPastTheLimit(t *testing.T) {
	var items []Item
	for i := range MaxGroups + 10 {
		items = append(items, Item{ID: fmt.Sprint(i), Kind: "star.created", Repo: fmt.Sprintf("acme/r%03d", i)})
	}
	b := Gather(Batch{}, items)
	if len(b.Groups) != MaxGroups || b.MoreGroups != 10 || b.MoreItems != 10 || b.Total != MaxGroups+10 {
		t.Fatalf("groups %d, more %d (%d items), total %d", len(b.Groups), b.MoreGroups, b.MoreItems, b.Total)
	}
}
