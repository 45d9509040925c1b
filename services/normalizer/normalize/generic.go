package normalize

import "github.com/ghnotify/ghnotify/shared/event"

// generic holds the fields almost every GitHub payload shares. It decodes
// event types go-github does not know, and fills fields a go-github type
// lacks.
type generic struct {
	Action       string             `json:"action"`
	Repository   *genericRepository `json:"repository"`
	Organization *genericAccount    `json:"organization"`
	Sender       *genericAccount    `json:"sender"`
}

type genericRepository struct {
	Name          string          `json:"name"`
	FullName      string          `json:"full_name"`
	HTMLURL       string          `json:"html_url"`
	Private       bool            `json:"private"`
	DefaultBranch string          `json:"default_branch"`
	Owner         *genericAccount `json:"owner"`
}

type genericAccount struct {
	Login   string `json:"login"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	HTMLURL string `json:"html_url"`
}

func (r *genericRepository) canonical() *event.Repository {
	out := &event.Repository{
		Name:          r.Name,
		FullName:      r.FullName,
		URL:           r.HTMLURL,
		Private:       r.Private,
		DefaultBranch: r.DefaultBranch,
	}
	if r.Owner != nil {
		out.Owner = r.Owner.Login
		if out.Owner == "" {
			out.Owner = r.Owner.Name
		}
	}
	return completeRepository(out)
}

func (a *genericAccount) canonical() event.Actor {
	return newActor(a.Login, a.Type, a.HTMLURL)
}
