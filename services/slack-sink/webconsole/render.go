package webconsole

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack/blockkit"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/shared/event"
)

// slackMessage is the Slack message ghnotify posts for ev, as JSON: the one
// place the console calls the layouts.
func slackMessage(ev *event.Event) ([]byte, error) {
	return message.Render(ev).MarshalIndent()
}

// drawSlack draws a Slack message (JSON) as Slack shows it.
func drawSlack(msg []byte) template.HTML {
	h, err := blockkit.Render(msg)
	if err != nil {
		return template.HTML(`<div class="bk-unsupported">` + template.HTMLEscapeString(err.Error()) + `</div>`)
	}
	return h
}

// pretty indents JSON; anything else is returned as it is.
func pretty(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"join": strings.Join,
	"dash": func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	},
	"slack":      drawSlack,
	"deliveryOf": deliveryOf,
}

func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/base.html"))
	out := map[string]*template.Template{}
	for _, p := range []string{"deliveries", "delivery", "dead-letters", "confirm", "routes", "inbox", "login", "error"} {
		out[p] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html"))
	}
	return out
}

// lookupTemplate returns a page's template set.
func (c *Console) lookupTemplate(name string) (*template.Template, error) {
	t, ok := c.tmpl[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	return t, nil
}
