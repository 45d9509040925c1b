package normalize

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/event"
)

// untyped fills target and details for the event types go-github has no
// type for, from the payload decoded without a schema: the ones GitHub
// documents (classic projects, projects status updates, repository
// advisories, secret scanning scans, sub-issues) by name, and any other by
// naming the object the payload is about.
func (b *builder) untyped(body []byte) {
	d := decodeDoc(body)
	if d == nil {
		return
	}
	switch b.d.Event {
	case "project":
		p := d.obj("project")
		if p == nil {
			break
		}
		b.target = &event.Target{Type: "project", Number: int(p.int("number")), ID: p.int("id"), Title: p.str("name"),
			URL: webOnly(p.str("html_url")), State: p.str("state"), Body: truncate(p.str("body")), Author: p.str("creator.login")}
		b.when = docTime(p, "updated_at|created_at")
	case "project_card":
		c := d.obj("project_card")
		if c == nil {
			break
		}
		note := c.str("note")
		title, _, _ := strings.Cut(note, "\n")
		page := apiToWeb(c.str("content_url"))
		if title == "" && page != "" {
			// A card holding an issue or pull request: name it owner/repo#N.
			if u, err := url.Parse(page); err == nil {
				if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); len(parts) == 4 {
					title = parts[0] + "/" + parts[1] + "#" + parts[3]
				}
			}
		}
		b.target = &event.Target{Type: "project_card", ID: c.int("id"), Title: title, URL: page,
			Body: truncate(note), Author: c.str("creator.login")}
		b.when = docTime(c, "updated_at|created_at")
	case "project_column":
		c := d.obj("project_column")
		if c == nil {
			break
		}
		b.target = &event.Target{Type: "project_column", ID: c.int("id"), Title: c.str("name")}
		b.when = docTime(c, "updated_at|created_at")
	case "projects_v2_status_update":
		s := d.obj("projects_v2_status_update")
		if s == nil {
			break
		}
		body := s.str("body")
		title, _, _ := strings.Cut(body, "\n")
		b.target = &event.Target{Type: "project_status_update", ID: s.int("id"), Title: title, State: s.str("status"),
			Body: truncate(body), Author: s.str("creator.login")}
		b.details.Status = s.str("status")
		b.when = docTime(s, "updated_at|created_at")
	case "repository_advisory":
		a := d.obj("repository_advisory")
		if a == nil {
			break
		}
		b.target = &event.Target{Type: "repository_advisory", Title: a.str("summary"), URL: webOnly(a.str("html_url")),
			State: a.str("state"), Author: a.str("author.login")}
		det := &b.details
		det.Severity = a.str("severity")
		det.GHSAID = a.str("ghsa_id")
		det.CVEID = a.str("cve_id")
		for _, id := range a.list("identifiers") {
			if id.str("type") == "CVE" && det.CVEID == "" {
				det.CVEID = id.str("value")
			}
		}
		if vs := a.list("vulnerabilities"); len(vs) > 0 {
			det.Package = vs[0].str("package.name")
			det.Ecosystem = vs[0].str("package.ecosystem")
			det.VulnerableRange = vs[0].str("vulnerable_version_range")
			det.PatchedVersion = vs[0].str("patched_versions|first_patched_version.identifier")
		}
		b.when = docTime(a, "updated_at|published_at|created_at")
	case "secret_scanning_scan":
		// The repository is the object.
		b.details.ScanType = d.str("type")
		b.when = docTime(d, "completed_at|started_at")
	case "sub_issues":
		parent, child := d.obj("parent_issue"), d.obj("sub_issue")
		parentRepo, childRepo := d.str("parent_issue_repo.full_name"), d.str("sub_issue_repo.full_name")
		if strings.HasPrefix(b.action, "parent_issue") {
			// Sent to the sub-issue's repository: the sub-issue gained or lost a parent.
			b.target = issueTarget(child)
			b.details.Related = issueLink(parent, parentRepo)
		} else {
			b.target = issueTarget(parent)
			b.details.Related = issueLink(child, childRepo)
		}
		if b.target != nil {
			b.subject = b.numberSubject(b.target.Number)
		}
	default:
		b.genericTarget(body)
	}
}

// genericTarget names the object of an event type ghnotify does not know:
// the payload's member named like the event, else its first object other
// than the repository, sender, organization, installation or enterprise.
// The object's name, title or login becomes the title, its html_url the URL.
func (b *builder) genericTarget(body []byte) {
	var chosen *member
	ms := members(body)
	for i := range ms {
		if ms[i].name == b.d.Event && isObject(ms[i].value) {
			chosen = &ms[i]
			break
		}
	}
	if chosen == nil {
		for i := range ms {
			switch ms[i].name {
			case "repository", "sender", "organization", "installation", "enterprise", "changes":
				continue
			}
			if isObject(ms[i].value) {
				chosen = &ms[i]
				break
			}
		}
	}
	if chosen == nil {
		return
	}
	o := decodeDoc(chosen.value)
	t := &event.Target{
		Type:   chosen.name,
		Number: int(o.int("number")),
		ID:     o.int("id"),
		Title:  o.str("name|title|login|full_name|slug"),
		URL:    webOnly(o.str("html_url")),
		State:  o.str("state"),
	}
	if t.Title == "" && t.URL == "" && t.Number == 0 {
		return
	}
	b.target = t
}

func isObject(v json.RawMessage) bool {
	return len(v) > 0 && v[0] == '{'
}

func issueTarget(i doc) *event.Target {
	if i == nil {
		return nil
	}
	return &event.Target{Type: "issue", Number: int(i.int("number")), ID: i.int("id"), Title: i.str("title"),
		URL: webOnly(i.str("html_url")), State: i.str("state"), Author: i.str("user.login")}
}

func issueLink(i doc, repo string) *event.Link {
	if i == nil {
		return nil
	}
	return &event.Link{Type: "issue", Number: int(i.int("number")), Title: i.str("title"), URL: webOnly(i.str("html_url")), Repository: repo}
}

// webOnly returns s when it is an absolute http(s) URL, else "".
func webOnly(s string) string {
	if _, ok := webURL(s); ok {
		return s
	}
	return ""
}

// apiToWeb turns the REST API address of an issue or pull request
// (https://api.github.com/repos/o/r/issues/1, or /api/v3/repos/... on
// GitHub Enterprise Server) into its web page, and returns "" for anything else.
func apiToWeb(s string) string {
	u, ok := webURL(s)
	if !ok {
		return ""
	}
	p := u.Path
	host := u.Host
	switch {
	case host == "api.github.com":
		host = "github.com"
	case strings.HasPrefix(p, "/api/v3/"):
		p = strings.TrimPrefix(p, "/api/v3")
	default:
		return ""
	}
	rest, ok := strings.CutPrefix(p, "/repos/")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || (parts[2] != "issues" && parts[2] != "pulls") {
		return ""
	}
	if parts[2] == "pulls" {
		parts[2] = "pull"
	}
	return joinPage(u.Scheme+"://"+host, parts...)
}

// docTime returns the first RFC 3339 timestamp among the alternatives of path.
func docTime(d doc, path string) time.Time {
	for alt := range strings.SplitSeq(path, "|") {
		if t, err := time.Parse(time.RFC3339, d.str(alt)); err == nil {
			return t
		}
	}
	return time.Time{}
}
