package webconsole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/history"
)

// previewer is a destination that can show what it would receive (every
// destination type of the sink is one).
type previewer interface {
	Preview(ev *event.Event) ([]byte, error)
}

// slackTypes are the destination types that receive Slack messages.
var slackTypes = map[string]bool{"webhook": true, "channel": true, "console": true}

type targetView struct {
	Route, Destination, Type string
	Thread                   bool
	Message                  template.HTML
	JSON                     string
	Problem                  string
}

// routeReport is what the tester shows for one canonical event: what
// ghnotify routes test prints, drawn.
type routeReport struct {
	EventID, Kind string
	Routes        []routes.Explanation
	Targets       []targetView
	Skips         []routes.Skip
}

// testRoutes routes each event through t without posting anything.
func testRoutes(t *routes.Table, evs []event.Event) []routeReport {
	var out []routeReport
	for i := range evs {
		ev := &evs[i]
		f := routes.NewFacts(ev)
		d := t.Decide(f)
		r := routeReport{EventID: ev.ID, Kind: ev.Data.Kind, Routes: t.Explain(f), Skips: d.Skips}
		for _, tg := range d.Targets {
			tv := targetView{Route: tg.Route, Destination: tg.Destination.Name, Type: tg.Destination.Type, Thread: tg.Thread}
			if p, ok := tg.Destination.Endpoint.(previewer); ok {
				b, err := p.Preview(ev)
				switch {
				case err != nil:
					tv.Problem = err.Error()
				case slackTypes[tv.Type]:
					tv.Message, tv.JSON = drawSlack(b), pretty(b)
				default:
					tv.JSON = pretty(b)
				}
			}
			r.Targets = append(r.Targets, tv)
		}
		out = append(out, r)
	}
	return out
}

type destinationView struct {
	Name, Type string
	Rate       float64
	Burst      int
	Filtered   bool
	Line       int
	IsDefault  bool
}

type routeView struct {
	Name                                   string
	Line                                   int
	To                                     []string
	Drop, Continue, Thread, BroadcastFinal bool
	Always                                 bool
}

// tableView is the routing table without any secret: names, types,
// limits and rules, never a URL or a token.
func tableView(t *routes.Table) map[string]any {
	var ds []destinationView
	for _, name := range t.DestinationNames() {
		d := t.Destinations[name]
		ds = append(ds, destinationView{Name: name, Type: d.Type, Rate: d.Rate * 60, Burst: d.Burst, Filtered: d.Filter != nil, Line: d.Line, IsDefault: name == t.Default})
	}
	var rs []routeView
	for _, r := range t.Routes {
		rs = append(rs, routeView{Name: r.Name, Line: r.Line, To: r.To, Drop: r.Drop, Continue: r.Continue, Thread: r.Thread, BroadcastFinal: r.BroadcastFinal, Always: r.Cond == nil})
	}
	return map[string]any{"File": t.File, "Default": t.Default, "Destinations": ds, "Routes": rs, "Warnings": t.Warnings}
}

// routesForm is what the tester was given.
type routesForm struct {
	Event, Payload, Delivery string
}

func (c *Console) routesData(ctx context.Context, f routesForm) (map[string]any, error) {
	data := map[string]any{"Form": f, "CanPaste": c.src.Normalize != nil}
	if c.src.Routes == nil || c.src.Routes.Table() == nil {
		return data, errors.New("the routes are not loaded yet")
	}
	data["Table"] = tableView(c.src.Routes.Table())
	if c.src.Deliveries != nil {
		vs, err := c.src.Deliveries.List(ctx, history.Filter{Since: time.Now().Add(-c.opts.Window)})
		if err == nil {
			type pick struct{ ID, Label string }
			var picks []pick
			for _, v := range vs {
				if len(v.Raw) == 0 && len(v.Events) == 0 {
					continue
				}
				label := v.When().UTC().Format("15:04:05") + " " + history.OrDash(v.Event)
				if v.Repository != "" {
					label += " " + v.Repository
				}
				picks = append(picks, pick{v.DeliveryID, label + " (" + v.DeliveryID + ")"})
				if len(picks) == 50 {
					break
				}
			}
			data["Picks"] = picks
		}
	}
	return data, nil
}

func (c *Console) routesPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	data, err := c.routesData(ctx, routesForm{})
	p := page{Title: "Routes", Nav: "routes", Data: data}
	if err != nil {
		p.Error = err.Error()
	}
	c.render(w, r, "routes", p)
}

// eventName is the form of an X-GitHub-Event name.
var eventName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// routesTest normalizes a pasted payload (or takes a stored delivery) and
// shows where its events go, posting nothing.
func (c *Console) routesTest(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	f := routesForm{Event: strings.TrimSpace(r.PostFormValue("event")), Payload: r.PostFormValue("payload"), Delivery: strings.TrimSpace(r.PostFormValue("delivery"))}
	data, err := c.routesData(ctx, f)
	p := page{Title: "Routes", Nav: "routes", Data: data}
	if err != nil {
		p.Error = err.Error()
		c.renderCode(w, r, "routes", http.StatusServiceUnavailable, p)
		return
	}
	evs, source, err := c.testEvents(ctx, f)
	if err != nil {
		p.Error = err.Error()
		c.renderCode(w, r, "routes", http.StatusBadRequest, p)
		return
	}
	data["Source"] = source
	data["Reports"] = testRoutes(c.src.Routes.Table(), evs)
	if len(evs) == 0 {
		p.Flash = "The payload normalizes into no event: nothing would be posted."
	}
	c.render(w, r, "routes", p)
}

// testEvents are the canonical events the tester routes.
func (c *Console) testEvents(ctx context.Context, f routesForm) ([]event.Event, string, error) {
	switch {
	case strings.TrimSpace(f.Payload) != "":
		if c.src.Normalize == nil {
			return nil, "", errors.New("this console cannot normalize a pasted payload (the standalone sink has no normalizer): pick a stored delivery, or use ghnotify routes test")
		}
		if !eventName.MatchString(f.Event) {
			return nil, "", errors.New("name the GitHub event (the X-GitHub-Event header), e.g. issues or pull_request")
		}
		if !json.Valid([]byte(f.Payload)) {
			return nil, "", errors.New("the payload is not valid JSON")
		}
		evs, err := c.src.Normalize(delivery.Delivery{Event: f.Event, ID: "routes-test", Body: []byte(f.Payload), ReceivedAt: time.Now()})
		if err != nil {
			return nil, "", fmt.Errorf("normalizing the payload: %w", err)
		}
		return evs, "the pasted " + f.Event + " payload", nil
	case f.Delivery != "":
		if c.src.Deliveries == nil || c.src.Payloads == nil {
			return nil, "", errors.New("no delivery store is connected")
		}
		v, err := c.src.Deliveries.Get(ctx, f.Delivery)
		if err != nil {
			return nil, "", fmt.Errorf("reading delivery %s: %w", f.Delivery, err)
		}
		if v == nil {
			return nil, "", fmt.Errorf("nothing is known about delivery %s", f.Delivery)
		}
		if c.src.Normalize != nil {
			for _, raw := range v.Raw {
				if raw.Replay != "" {
					continue
				}
				h, body, err := c.src.Payloads.Raw(ctx, raw.Sequence)
				if err != nil {
					return nil, "", err
				}
				d, err := delivery.FromMsg(h, body)
				if err != nil {
					return nil, "", fmt.Errorf("reading delivery %s: %w", f.Delivery, err)
				}
				evs, err := c.src.Normalize(d)
				if err != nil {
					return nil, "", fmt.Errorf("normalizing delivery %s: %w", f.Delivery, err)
				}
				return evs, "stored delivery " + f.Delivery + " (" + d.Event + "), normalized again", nil
			}
		}
		var evs []event.Event
		seen := map[string]bool{}
		for _, ec := range v.Events {
			if seen[ec.EventID] {
				continue
			}
			seen[ec.EventID] = true
			b, err := c.src.Payloads.Event(ctx, ec.Sequence)
			if err != nil {
				return nil, "", err
			}
			var e event.Event
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, "", fmt.Errorf("reading event %s: %w", ec.EventID, err)
			}
			evs = append(evs, e)
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
		return evs, "the stored events of delivery " + f.Delivery, nil
	}
	return nil, "", errors.New("paste a payload, or pick a stored delivery")
}
