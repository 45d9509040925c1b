package routes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// People maps GitHub identities to Slack ones, so that messages mention
// the people an event is for: requested reviewers, assignees. It comes
// only from the routes file (its people key), never from payloads.
type People struct {
	// Users maps a GitHub login, lowercased, to a Slack member ID (U… or W…).
	Users map[string]string
	// Teams maps a GitHub team, "org/slug" or "slug", lowercased, to a
	// Slack user group ID (S…).
	Teams map[string]string
	// Groups maps a name of the file's own choosing (oncall) to a Slack
	// member or user group ID, for routes' mention lists.
	Groups map[string]string
}

// User returns the Slack member ID of a GitHub login.
func (p *People) User(login string) (string, bool) {
	if p == nil {
		return "", false
	}
	id, ok := p.Users[strings.ToLower(login)]
	return id, ok
}

// Team returns the Slack user group ID of a GitHub team: the slug
// qualified by its organization first, then the slug alone.
func (p *People) Team(org, slug string) (string, bool) {
	if p == nil {
		return "", false
	}
	slug = strings.ToLower(slug)
	if org != "" && !strings.Contains(slug, "/") {
		if id, ok := p.Teams[strings.ToLower(org)+"/"+slug]; ok {
			return id, true
		}
	}
	id, ok := p.Teams[slug]
	return id, ok
}

// Mentions is what a post may mention: the routes file's people map and
// the Slack IDs of the route's own mention list.
type Mentions struct {
	People *People
	// Extra are the Slack IDs (U…, W…, S…) the route adds to every
	// message it sends, in the order written.
	Extra []string
}

// Slack ID forms: members are U… or W… (Enterprise Grid), user groups S….
var (
	memberIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupIDRE  = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
)

// IsMemberID reports whether id has the form of a Slack member ID.
func IsMemberID(id string) bool { return memberIDRE.MatchString(id) }

// IsGroupID reports whether id has the form of a Slack user group ID.
func IsGroupID(id string) bool { return groupIDRE.MatchString(id) }

// idProblem says what is wrong with id for a place that accepts the
// given forms, "" when nothing is.
func idProblem(id string, member, group bool) string {
	switch {
	case member && IsMemberID(id), group && IsGroupID(id):
		return ""
	case member && group:
		return fmt.Sprintf("%q is not a Slack member ID (U… or W…) nor a user group ID (S…): upper-case letters and digits", id)
	case member:
		if IsGroupID(id) {
			return fmt.Sprintf("%q is a user group ID; a GitHub user maps to a Slack member ID (U… or W…)", id)
		}
		return fmt.Sprintf("%q is not a Slack member ID (U… or W…, upper-case letters and digits)", id)
	default:
		if IsMemberID(id) {
			return fmt.Sprintf("%q is a member ID; a GitHub team maps to a Slack user group ID (S…)", id)
		}
		return fmt.Sprintf("%q is not a Slack user group ID (S…, upper-case letters and digits)", id)
	}
}

// peopleKey reads the people key: the map itself, or the name of a file
// holding it (relative to the routes file's directory), whose problems
// are reported with that file's name, line and column.
func (l *loader) peopleKey(n ast.Node) *People {
	if _, isString := unwrap(n).(*ast.StringNode); !isString {
		return l.people(n)
	}
	name, _ := l.str(n, "people")
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(l.file), file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		l.errorf(n, "people: reading the people file: %v", err)
		return nil
	}
	sub := &loader{file: file, opts: l.opts}
	f, err := parser.ParseBytes(data, 0)
	var body ast.Node
	switch {
	case err != nil:
		sub.syntax(err)
	case len(f.Docs) == 0 || f.Docs[0].Body == nil:
		sub.problems = append(sub.problems, Problem{File: file, Line: 1, Col: 1, Msg: "the people file is empty"})
	default:
		body = f.Docs[0].Body
	}
	var p *People
	if body != nil {
		p = sub.people(body)
	}
	l.problems = append(l.problems, sub.problems...)
	return p
}

// people reads the people map: users, teams and groups, each a mapping
// of names to Slack IDs.
func (l *loader) people(n ast.Node) *People {
	p := &People{Users: map[string]string{}, Teams: map[string]string{}, Groups: map[string]string{}}
	for _, e := range l.mapping(n, "people", "users", "teams", "groups") {
		what := "people: " + e.key
		var into map[string]string
		member, group := true, true
		switch e.key {
		case "users":
			into, group = p.Users, false
		case "teams":
			into, member = p.Teams, false
		case "groups":
			into = p.Groups
		}
		if _, null := unwrap(e.val).(*ast.NullNode); null {
			continue
		}
		for _, kv := range l.mapping(e.val, what, anyKey(e.val)...) {
			name := strings.ToLower(kv.key)
			if name == "" {
				l.errorf(kv.keyNode, "%s: a name must not be empty", what)
				continue
			}
			if _, dup := into[name]; dup {
				l.errorf(kv.keyNode, "%s: %q appears twice (names are compared case-insensitively)", what, kv.key)
				continue
			}
			id, ok := l.str(kv.val, what+": "+kv.key)
			if !ok {
				continue
			}
			if msg := idProblem(id, member, group); msg != "" {
				l.errorf(kv.val, "%s: %s: %s", what, kv.key, msg)
				continue
			}
			into[name] = id
		}
	}
	return p
}

// mentions resolves a route's mention list: each item names an entry of
// people (a group, a user's login, a team) or is a Slack ID itself.
func (l *loader) mentions(n ast.Node, what string, p *People) []string {
	var out []string
	seen := map[string]bool{}
	for _, item := range l.strList(n, what) {
		id, ok := resolveMention(item, p)
		if !ok {
			l.errorf(n, "%s: %q is neither a name in people (groups, users, teams: %s) nor a Slack member ID (U…, W…) or user group ID (S…)", what, item, peopleNames(p))
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func resolveMention(item string, p *People) (string, bool) {
	if IsMemberID(item) || IsGroupID(item) {
		return item, true
	}
	if p == nil {
		return "", false
	}
	name := strings.ToLower(strings.TrimPrefix(item, "@"))
	for _, m := range []map[string]string{p.Groups, p.Users, p.Teams} {
		if id, ok := m[name]; ok {
			return id, true
		}
	}
	return "", false
}

// peopleNames lists the names a mention may use, for messages.
func peopleNames(p *People) string {
	if p == nil {
		return "none defined"
	}
	var names []string
	for _, m := range []map[string]string{p.Groups, p.Users, p.Teams} {
		for k := range m {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "none defined"
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}
