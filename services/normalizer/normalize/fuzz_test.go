package normalize

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/subject"
)

// FuzzNormalize feeds arbitrary event names and bodies to the parser: it
// must never panic, and must either refuse the payload with ErrPayload or
// return valid events on valid subjects.
func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		name, _, _ := strings.Cut(filepath.Base(file), ".")
		f.Add(name, body)
	}
	f.Add("push", []byte(`{"commits":[null],"head_commit":null,"repository":{"full_name":"a/b"}}`))
	f.Add("pull_request", []byte(`{"action":"closed","pull_request":{"merged":true}}`))
	f.Add("issues", []byte(`{"action":"opened","issue":null,"repository":{"owner":{"name":"x"}}}`))
	f.Add("a.b c", []byte(`{"action":"x.y>*"}`))
	f.Add("status", []byte(`{"commit":{"commit":{"message":"`+strings.Repeat("é", 3000)+`"}}}`))
	f.Add("issues", []byte(`[]`))
	f.Add("push", []byte(`{"repository":{"full_name":"a/b","pushed_at":99999999999999999}}`))
	f.Add("star", []byte(`{"action":"created","repository":{"full_name":"a b/c","html_url":"javascript:x"},"sender":{"login":"x","html_url":"https://ghe.example.com/x"}}`))
	f.Add("check_run", []byte(`{"action":"rerequested","check_run":{"started_at":"2018-04-25 20:42:10","output":{"x_at":"2018-04-25 20:42:10"}}}`))
	// Objects missing or of the wrong shape in the long-tail kinds.
	f.Add("pull_request_review_thread", []byte(`{"action":"resolved","thread":null,"pull_request":{"number":1}}`))
	f.Add("dependabot_alert", []byte(`{"action":"created","alert":{"security_advisory":null,"security_vulnerability":{}}}`))
	f.Add("deployment_review", []byte(`{"action":"approved","reviewers":[null,{"type":"Team","reviewer":{}}],"workflow_run":null}`))
	f.Add("check_run", []byte(`{"action":"requested_action","requested_action":null,"check_run":{"pull_requests":[null]}}`))
	f.Add("sub_issues", []byte(`{"action":"parent_issue_added","parent_issue":{"number":"x"},"sub_issue":[]}`))
	f.Add("project_card", []byte(`{"action":"moved","project_card":{"content_url":"https://api.github.com/repos/a/b/issues/../../x"}}`))
	f.Add("brand_new", []byte(`{"action":"x","brand_new":{"name":{"nested":1},"html_url":"javascript:alert(1)"},"other":{"title":"T"}}`))
	f.Add("gollum", []byte(`{"pages":[null,{"title":"","page_name":"p","html_url":"https://github.com/a/b/wiki/p"}]}`))
	f.Add("sponsorship", []byte(`{"action":"created","sponsorship":{"sponsorable":{"login":"../x"}},"changes":[1]}`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		evs, err := Normalize(delivery.Delivery{Event: name, ID: "fuzz", Body: body})
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for i := range evs {
			ev := &evs[i]
			if err := ev.Validate(); err != nil {
				t.Fatalf("invalid event: %v", err)
			}
			if u, err := url.Parse(ev.Source); err != nil || !u.IsAbs() || strings.ContainsAny(ev.Source, " \t\r\n") {
				t.Fatalf("source %q is not an absolute URI", ev.Source)
			}
			if tg := ev.Data.Target; tg != nil && tg.URL != "" {
				if _, ok := webURL(tg.URL); !ok {
					t.Fatalf("target URL %q is not a web address", tg.URL)
				}
			}
			if s := Subject(ev); !subject.Valid(s) {
				t.Fatalf("invalid subject %q", s)
			}
			b, err := event.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := event.Unmarshal(b); err != nil {
				t.Fatalf("event does not decode back: %v", err)
			}
		}
	})
}
