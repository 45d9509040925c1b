package routes

import "github.com/ghnotify/ghnotify/shared/config"

// CoreKinds are the kinds the default webhook route sends: issues opened,
// pull requests opened, merged, closed and review requested, stars, forks
// and releases published. A star arrives as both star.created and
// watch.started (GitHub's older name for starring): only star.created is
// sent, so a star posts once.
var CoreKinds = []string{
	"issues.opened",
	"pull_request.opened",
	"pull_request.merged",
	"pull_request.closed",
	"pull_request.review_requested",
	"star.created",
	"fork.created",
	"release.published",
}

// defaultWebhookFile is the routes file used when there is none and
// SLACK_WEBHOOK_URL is set: the core kinds, and workflow runs on the
// default branch that failed, timed out or could not start.
const defaultWebhookFile = `destinations:
  slack:
    webhook: ${SLACK_WEBHOOK_URL}
routes:
  - name: core
    match:
      kind: [issues.opened, pull_request.opened, pull_request.merged, pull_request.closed, pull_request.review_requested, star.created, fork.created, release.published]
    to: slack
  - name: failed workflow runs on the default branch
    match:
      kind: workflow_run.completed
      expr: 'data.details?.conclusion in ["failure", "timed_out", "startup_failure"] && data.target?.head_branch != nil && data.target?.head_branch == data.repository?.default_branch'
    to: slack
`

// defaultConsoleFile is the routes file used when there is neither a
// routes file nor SLACK_WEBHOOK_URL: every event is printed.
const defaultConsoleFile = `destinations:
  console:
    console: true
default: console
`

// DefaultWebhook returns the table that sends the core kinds to one
// incoming webhook.
func DefaultWebhook(url config.Secret, opts Options) (*Table, error) {
	opts.Lookup = func(name string) (string, bool) {
		if name == "SLACK_WEBHOOK_URL" {
			return url.Reveal(), url.IsSet()
		}
		return "", false
	}
	return Parse("(default: SLACK_WEBHOOK_URL)", []byte(defaultWebhookFile), opts)
}

// DefaultConsole returns the table that prints every event to the
// console; opts gives the destination types (console among them).
func DefaultConsole(opts Options) (*Table, error) {
	opts.Lookup = noVariables
	return Parse("(default: console)", []byte(defaultConsoleFile), opts)
}
