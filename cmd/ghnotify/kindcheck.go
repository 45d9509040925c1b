package main

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// knownEvents are the GitHub event names ghnotify knows (docs/subjects.md);
// a kind glob whose event part matches none of them is most likely a typo.
var knownEvents = []string{
	"branch_protection_rule", "check_run", "check_suite", "code_scanning_alert", "commit_comment", "create", "delete",
	"dependabot_alert", "deploy_key", "deployment", "deployment_review", "deployment_status", "discussion",
	"discussion_comment", "fork", "github_app_authorization", "gollum", "installation", "installation_repositories",
	"installation_target", "issue_comment", "issues", "label", "marketplace_purchase", "member", "membership",
	"merge_group", "meta", "milestone", "org_block", "organization", "package", "page_build", "ping", "project",
	"project_card", "project_column", "projects_v2", "projects_v2_item", "public", "pull_request",
	"pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "push", "registry_package",
	"release", "repository", "repository_advisory", "repository_dispatch", "repository_import", "repository_ruleset",
	"repository_vulnerability_alert", "secret_scanning_alert", "secret_scanning_alert_location", "security_advisory",
	"security_and_analysis", "sponsorship", "star", "status", "team", "team_add", "watch", "workflow_dispatch",
	"workflow_job", "workflow_run",
}

// unknownKindWarnings reads the kind conditions of a routes file and warns
// about each glob whose event part (before the first '.') can match no
// known event, such as pull_requests.opened. A file that cannot be read
// gives no warning here: routes.Load reports it.
func unknownKindWarnings(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc struct {
		Routes []struct {
			Name  string         `yaml:"name"`
			Match map[string]any `yaml:"match"`
		} `yaml:"routes"`
	}
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []string
	for i, r := range doc.Routes {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		for _, k := range kindPatterns(r.Match["kind"]) {
			if !kindCanMatch(k) {
				out = append(out, fmt.Sprintf("route %s: kind %q matches no known event (is %q a GitHub event name?)", name, k, strings.SplitN(k, ".", 2)[0]))
			}
		}
	}
	sort.Strings(out)
	return out
}

func kindPatterns(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// kindCanMatch reports whether the event part of a kind glob matches a
// known event name.
func kindCanMatch(glob string) bool {
	ev := strings.SplitN(strings.TrimPrefix(glob, "!"), ".", 2)[0]
	for _, k := range knownEvents {
		if ok, err := path.Match(ev, k); err != nil || ok {
			return true
		}
	}
	return false
}
