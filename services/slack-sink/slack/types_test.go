package slack

import (
	"context"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/slackapi"
	"github.com/ghnotify/ghnotify/shared/event"
)

// capture is a slackapi.Poster that keeps the requests it is given.
type capture struct {
	reqs []slackapi.Request
}

func (c *capture) Post(_ context.Context, r slackapi.Request) (slackapi.Response, error) {
	c.reqs = append(c.reqs, r)
	return slackapi.Response{TS: "1.2"}, nil
}

// TestPostMentionsTheRoutesPeople: the people map and the route's
// mention list of the thread reach the rendered message; without them
// nobody is mentioned.
func TestPostMentionsTheRoutesPeople(t *testing.T) {
	ev := &event.Event{Data: event.Data{Kind: "pull_request.review_requested", Event: "pull_request",
		Repository: &event.Repository{Owner: "acme", Name: "w", FullName: "acme/w", URL: "https://github.com/acme/w"},
		Actor:      event.Actor{Login: "mona"},
		Target:     &event.Target{Type: "pull_request", Number: 3, Title: "Fix", URL: "https://github.com/acme/w/pull/3"},
		Details:    &event.Details{RequestedReviewers: []string{"octocat", "hubot"}, RequestedTeams: []string{"core"}},
	}}
	people := &routes.People{Users: map[string]string{"octocat": "U0123ABCD"}, Teams: map[string]string{"acme/core": "S0123ABCD"}}
	c := &capture{}
	p := poster{c}
	if _, err := p.Post(context.Background(), ev, deliver.Thread{Mentions: routes.Mentions{People: people, Extra: []string{"S0ONCALL1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Post(context.Background(), ev, deliver.Thread{}); err != nil {
		t.Fatal(err)
	}
	with, without := c.reqs[0].Message, c.reqs[1].Message
	if !strings.HasPrefix(with.Text, "<@U0123ABCD> <!subteam^S0123ABCD> <!subteam^S0ONCALL1> ") {
		t.Errorf("notification %q lacks the mentions", with.Text)
	}
	for _, want := range []string{"Reviewers: <@U0123ABCD>, @hubot, <!subteam^S0123ABCD>", "cc <!subteam^S0ONCALL1>"} {
		if s := jsonText(t, with); !strings.Contains(s, want) {
			t.Errorf("message lacks %q:\n%s", want, s)
		}
	}
	if s := jsonText(t, without); strings.Contains(s, "<@") || strings.Contains(s, "<!") {
		t.Errorf("without people, the message mentions someone:\n%s", s)
	}
}

// jsonText is the message as Slack receives it, with the JSON escapes of
// <, > and & undone.
func jsonText(t *testing.T, m message.Message) string {
	t.Helper()
	b, err := m.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}
