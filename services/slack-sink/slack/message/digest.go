package message

import (
	"fmt"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/slack-go/slack"
)

// digestNouns names the items of a kind in a digest line: singular,
// plural and the word before the repository.
var digestNouns = map[string][3]string{
	"star.created":        {"new star", "new stars", "on"},
	"fork.created":        {"fork", "forks", "of"},
	"watch.started":       {"new watcher", "new watchers", "of"},
	"issues.opened":       {"issue opened", "issues opened", "in"},
	"issues.closed":       {"issue closed", "issues closed", "in"},
	"pull_request.opened": {"pull request opened", "pull requests opened", "in"},
	"pull_request.merged": {"pull request merged", "pull requests merged", "in"},
	"release.published":   {"release", "releases", "of"},
	"issue_comment.created": {
		"comment", "comments", "in",
	},
}

// DigestLine says what one group of a digest holds: "12 new stars on
// acme/rocket", "5 pushes to feature branches of acme/rocket". repo is
// the repository as it should appear (escaped, possibly a link).
func DigestLine(g schedule.Group, repo string) string {
	n := g.Count
	plural := func(one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	var what, prep string
	switch {
	case g.Kind == "push.pushed" && g.Feature:
		what, prep = plural("push to a feature branch", "pushes to feature branches"), "of"
	case g.Kind == "push.pushed":
		what, prep = plural("push to the default branch", "pushes to the default branch"), "of"
	default:
		if w, ok := digestNouns[g.Kind]; ok {
			what, prep = plural(w[0], w[1]), w[2]
		} else {
			what, prep = Escape(g.Kind)+plural(" event", " events"), "in"
		}
	}
	if repo == "" {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %s %s %s", n, what, prep, repo)
}

// RenderDigest returns the message of a digest: a header with the total,
// one section per repository and kind with its count and first links, a
// line for the groups past the limit, and the period it covers.
func RenderDigest(b *schedule.Batch) Message {
	var blocks []slack.Block
	title := fmt.Sprintf(":newspaper: Digest: %d %s", b.Total, plural(b.Total, "event", "events"))
	if b.Route != "" {
		title += " (" + b.Route + ")"
	}
	blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Fit(title, MaxHeaderText), true, false)))
	var fallback []string
	for _, g := range b.Groups {
		line := "*" + DigestLine(g, link(g.RepoURL, g.Repo, 200)) + "*"
		fallback = append(fallback, DigestLine(g, Escape(g.Repo)))
		var links []string
		for _, it := range g.Links {
			text := it.Title
			if text == "" {
				text = it.Actor
			}
			if text == "" {
				continue
			}
			links = append(links, link(it.URL, text, 120))
		}
		if len(links) > 0 {
			more := ""
			if rest := g.Count - len(g.Links); rest > 0 {
				more = fmt.Sprintf(" and %d more", rest)
			}
			line += "\n" + strings.Join(links, ", ") + more
		}
		if Len(line) > MaxSectionText {
			line = "*" + DigestLine(g, link(g.RepoURL, g.Repo, 200)) + "*"
		}
		blocks = append(blocks, section(line))
	}
	if b.MoreGroups > 0 {
		blocks = append(blocks, section(fmt.Sprintf("%s and %d more %s (%d %s)", Ellipsis, b.MoreGroups, plural(b.MoreGroups, "group", "groups"), b.MoreItems, plural(b.MoreItems, "event", "events"))))
	}
	if !b.End.IsZero() {
		loc := time.UTC
		if l, err := time.LoadLocation(b.Zone); err == nil && b.Zone != "" {
			loc = l
		}
		period := "During the quiet hours until " + b.End.In(loc).Format("Mon 2 Jan 15:04 MST")
		if !b.Start.IsZero() {
			period = fmt.Sprintf("From %s to %s", b.Start.In(loc).Format("Mon 2 Jan 15:04"), b.End.In(loc).Format("Mon 2 Jan 15:04 MST"))
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(Text(period, MaxSectionText))))
	}
	if len(blocks) > MaxBlocks {
		blocks = blocks[:MaxBlocks]
	}
	text := fmt.Sprintf("Digest: %s", strings.Join(fallback, ", "))
	if b.MoreGroups > 0 {
		text += fmt.Sprintf(" and %d more", b.MoreItems)
	}
	return Message{Text: Fit(text, MaxFallbackText), Blocks: slack.Blocks{BlockSet: blocks}, Layout: "digest"}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
