package webconsole

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/history"
	"github.com/ghnotify/ghnotify/shared/trace"
)

// page is what every template gets.
type page struct {
	Title string
	// Nav names the current section: deliveries, dead-letters, routes, inbox.
	Nav   string
	CSRF  string
	Flash string
	Error string
	Data  any
}

// queryTimeout bounds what one page reads.
const queryTimeout = 20 * time.Second

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	c.renderCode(w, r, name, http.StatusOK, p)
}

func (c *Console) renderCode(w http.ResponseWriter, r *http.Request, name string, code int, p page) {
	p.CSRF = c.csrfToken(w, r)
	t, err := c.lookupTemplate(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	exec := "base"
	if part := r.URL.Query().Get("partial"); part != "" && t.Lookup("partial-"+part) != nil {
		exec = "partial-" + part
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, exec, p); err != nil {
		c.opts.Log.Error().Err(err).Str("page", name).Msg("console page failed")
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// fail answers with the error page, its message escaped like any text.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, nav string, code int, err error) {
	if code >= 500 {
		c.opts.Log.Warn().Err(err).Str("path", r.URL.Path).Msg("console page failed")
	}
	c.renderCode(w, r, "error", code, page{Title: http.StatusText(code), Nav: nav, Error: err.Error()})
}

// deliveryFilter is the deliveries page's filter, from its query.
type deliveryFilter struct {
	Repo, Event, Kind, Fate, Since string
}

func (f deliveryFilter) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"repo": f.Repo, "event": f.Event, "kind": f.Kind, "fate": f.Fate, "since": f.Since} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

// windows are the choices of how far back the deliveries page looks.
var windows = []string{"15m", "1h", "6h", "72h", "168h"}

type deliveryRow struct {
	*history.View
	When    time.Time
	Summary string
	Stages  []stageChip
}

// stageChip is one stage's fate in a row.
type stageChip struct {
	Label, Class, Title string
}

// stages says what each stage did with a delivery, for the row's chips.
func stages(v *history.View) []stageChip {
	var out []stageChip
	has := func(s string) bool { return slices.Contains(v.Statuses, s) }
	if has(history.StatusStored) {
		out = append(out, stageChip{"stored", "ok", "the gateway stored it"})
	}
	switch {
	case has(history.StatusNormalized):
		n := len(v.Kinds)
		out = append(out, stageChip{fmt.Sprintf("normalized (%d)", n), "ok", "events: " + strings.Join(v.Kinds, ", ")})
	case has(history.StatusStored) && !has(history.StatusDeadLettered):
		out = append(out, stageChip{"normalizing", "wait", "waiting for the normalizer"})
	}
	seen := map[string]bool{}
	for _, f := range v.Fates {
		if f.Stage != trace.StageSink && !(f.Stage == trace.StageNormalizer && f.Outcome == trace.OutcomeDeadLettered) {
			continue
		}
		var chip stageChip
		switch f.Outcome {
		case trace.OutcomePosted:
			chip = stageChip{"posted " + f.Destination, "ok", "route " + f.Route}
		case trace.OutcomeSkipped:
			chip = stageChip{"skipped " + history.OrDash(f.Destination), "skip", f.Reason}
		case trace.OutcomeFailed:
			chip = stageChip{"failed " + f.Destination, "bad", f.Reason}
		case trace.OutcomeDeadLettered:
			chip = stageChip{"dead-lettered " + history.OrDash(f.Destination), "bad", f.Reason}
		default:
			continue
		}
		if f.Replay != "" {
			chip.Label += " (replay)"
		}
		if !seen[chip.Label] {
			seen[chip.Label] = true
			out = append(out, chip)
		}
	}
	if len(v.AtSink) > 0 {
		out = append(out, stageChip{"retrying", "wait", "at the sink, waiting or retrying: " + strings.Join(v.AtSink, ", ")})
	}
	if n := len(v.DeadLetters); n > 0 {
		out = append(out, stageChip{fmt.Sprintf("%d dead letter(s)", n), "bad", "waiting in the dead-letter stream"})
	}
	return out
}

func (c *Console) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := deliveryFilter{Repo: strings.TrimSpace(q.Get("repo")), Event: strings.TrimSpace(q.Get("event")), Kind: strings.TrimSpace(q.Get("kind")), Fate: q.Get("fate"), Since: q.Get("since")}
	data := map[string]any{"Filter": f, "Fates": history.Statuses, "Windows": windows}
	p := page{Title: "Deliveries", Nav: "deliveries", Data: data}
	window := c.opts.Window
	if f.Since != "" {
		d, err := time.ParseDuration(f.Since)
		if err != nil || d <= 0 {
			p.Error = fmt.Sprintf("since: %q is not a duration such as 1h", f.Since)
			c.renderCode(w, r, "deliveries", http.StatusBadRequest, p)
			return
		}
		window = d
	}
	if f.Fate != "" && !slices.Contains(history.Statuses, f.Fate) {
		p.Error = fmt.Sprintf("fate: %q is not one of %s", f.Fate, strings.Join(history.Statuses, ", "))
		c.renderCode(w, r, "deliveries", http.StatusBadRequest, p)
		return
	}
	if c.src.Deliveries == nil {
		p.Error = "no delivery store is connected"
		c.render(w, r, "deliveries", p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	vs, err := c.src.Deliveries.List(ctx, history.Filter{Since: time.Now().Add(-window), Repo: f.Repo, Event: f.Event, Status: f.Fate})
	if err != nil {
		c.fail(w, r, "deliveries", http.StatusBadGateway, fmt.Errorf("reading deliveries: %w", err))
		return
	}
	var rows []deliveryRow
	for _, v := range vs {
		if f.Kind != "" && !slices.Contains(v.Kinds, f.Kind) {
			continue
		}
		rows = append(rows, deliveryRow{View: v, When: v.When(), Summary: history.Summarize(v), Stages: stages(v)})
		if len(rows) == maxRows {
			data["Truncated"] = true
			break
		}
	}
	data["Rows"] = rows
	data["WindowShown"] = window.String()
	c.render(w, r, "deliveries", p)
}

// maxRows bounds the deliveries page.
const maxRows = 300

type eventView struct {
	Seq     uint64
	ID      string
	Kind    string
	Replay  string
	JSON    string
	Message template.HTML
}

type postedView struct {
	Destination, Route, Kind, SlackTS, Replay string
	At                                        time.Time
	Message                                   template.HTML
	Note                                      string
}

// shownHeaders are the raw delivery headers the console shows: never a
// signature (there is none stored, and none will be shown should there be).
func shownHeaders(h map[string][]string) [][2]string {
	var out [][2]string
	for k, vs := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "signature") || strings.Contains(lk, "authorization") || strings.Contains(lk, "token") || strings.Contains(lk, "secret") {
			continue
		}
		out = append(out, [2]string{k, strings.Join(vs, ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func (c *Console) deliveryPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if c.src.Deliveries == nil {
		c.fail(w, r, "deliveries", http.StatusServiceUnavailable, errors.New("no delivery store is connected"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	v, err := c.src.Deliveries.Get(ctx, id)
	if err != nil {
		c.fail(w, r, "deliveries", http.StatusBadGateway, fmt.Errorf("reading delivery %s: %w", id, err))
		return
	}
	if v == nil {
		c.fail(w, r, "deliveries", http.StatusNotFound, fmt.Errorf("nothing is known about delivery %s (not in the raw stream, the trace or the dead letters)", id))
		return
	}
	data := map[string]any{"V": v, "Timeline": history.Timeline(v), "Summary": history.Summarize(v), "Stages": stages(v)}
	var problems []string
	if c.src.Payloads != nil {
		for _, raw := range v.Raw {
			if raw.Replay != "" {
				continue
			}
			h, body, err := c.src.Payloads.Raw(ctx, raw.Sequence)
			if err != nil {
				problems = append(problems, fmt.Sprintf("raw payload #%d: %v", raw.Sequence, err))
				break
			}
			data["RawSeq"] = raw.Sequence
			data["RawHeaders"] = shownHeaders(h)
			data["RawBody"] = pretty(body)
			data["RawBytes"] = len(body)
			break
		}
		events := map[string]*event.Event{}
		var evs []eventView
		for _, ec := range v.Events {
			b, err := c.src.Payloads.Event(ctx, ec.Sequence)
			if err != nil {
				problems = append(problems, fmt.Sprintf("event #%d: %v", ec.Sequence, err))
				continue
			}
			ev := eventView{Seq: ec.Sequence, ID: ec.EventID, Kind: ec.Kind, Replay: ec.Replay, JSON: pretty(b)}
			var e event.Event
			if err := json.Unmarshal(b, &e); err == nil {
				events[ec.EventID] = &e
				if m, err := slackMessage(&e); err == nil {
					ev.Message = drawSlack(m)
				}
			}
			evs = append(evs, ev)
		}
		data["Events"] = evs
		var posted []postedView
		var table *routes.Table
		if c.src.Routes != nil {
			table = c.src.Routes.Table()
		}
		for _, f := range v.Fates {
			if f.Stage != trace.StageSink || f.Outcome != trace.OutcomePosted {
				continue
			}
			pv := postedView{Destination: f.Destination, Route: f.Route, Kind: f.Kind, SlackTS: f.SlackTS, Replay: f.Replay, At: f.At}
			e := events[f.EventID]
			switch {
			case e == nil:
				pv.Note = "the event is no longer in the events stream"
			case table != nil && table.Destinations[f.Destination] != nil && table.Destinations[f.Destination].Type == "http":
				pv.Note = "posted as the CloudEvent above (an http destination)"
			default:
				if m, err := slackMessage(e); err == nil {
					pv.Message = drawSlack(m)
				}
			}
			posted = append(posted, pv)
		}
		data["Posted"] = posted
	}
	p := page{Title: "Delivery " + id, Nav: "deliveries", Data: data}
	if len(problems) > 0 {
		p.Error = strings.Join(problems, "; ")
	}
	c.render(w, r, "delivery", p)
}

func (c *Console) deadLettersPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Dead letters", Nav: "dead-letters"}
	if n := r.URL.Query().Get("redriven"); n != "" {
		if k, err := strconv.Atoi(n); err == nil {
			p.Flash = fmt.Sprintf("Redrove %d dead letter(s). Each goes back to the stage that failed; one that fails again comes back here under a new sequence.", k)
		}
	}
	if c.src.DeadLetters == nil {
		p.Error = "no dead-letter store is connected"
		c.render(w, r, "dead-letters", p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	ls, err := c.src.DeadLetters.List(ctx)
	if err != nil {
		c.fail(w, r, "dead-letters", http.StatusBadGateway, fmt.Errorf("reading dead letters: %w", err))
		return
	}
	slices.Reverse(ls)
	p.Data = map[string]any{"Letters": ls}
	c.render(w, r, "dead-letters", p)
}

// redrive asks for confirmation, then (confirm=yes) redrives the dead
// letters named by seq, or every one with all=yes.
func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	if c.src.DeadLetters == nil {
		c.fail(w, r, "dead-letters", http.StatusServiceUnavailable, errors.New("no dead-letter store is connected"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	all := r.PostFormValue("all") == "yes"
	var seqs []uint64
	for _, s := range r.PostForm["seq"] {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil || seq == 0 {
			c.fail(w, r, "dead-letters", http.StatusBadRequest, fmt.Errorf("%q is not a dead letter sequence", s))
			return
		}
		seqs = append(seqs, seq)
	}
	if all == (len(seqs) > 0) {
		c.fail(w, r, "dead-letters", http.StatusBadRequest, errors.New("redrive takes dead letter sequences, or all"))
		return
	}
	ls, err := c.src.DeadLetters.List(ctx)
	if err != nil {
		c.fail(w, r, "dead-letters", http.StatusBadGateway, fmt.Errorf("reading dead letters: %w", err))
		return
	}
	var chosen []deadletter.Info
	for _, l := range ls {
		if all || slices.Contains(seqs, l.Sequence) {
			chosen = append(chosen, l)
		}
	}
	if !all && len(chosen) != len(seqs) {
		c.fail(w, r, "dead-letters", http.StatusNotFound, errors.New("no such dead letter (already redriven?)"))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		c.render(w, r, "confirm", page{Title: "Redrive dead letters?", Nav: "dead-letters", Data: map[string]any{"Letters": chosen, "All": all}})
		return
	}
	done := 0
	for _, l := range chosen {
		if _, err := c.src.DeadLetters.Redrive(ctx, l.Sequence); err != nil && !errors.Is(err, deadletter.ErrNotFound) {
			c.fail(w, r, "dead-letters", http.StatusBadGateway, fmt.Errorf("%w (%d redriven before it)", err, done))
			return
		}
		done++
		c.opts.Log.Info().Uint64("sequence", l.Sequence).Str("stage", l.Stage).Str("delivery", l.DeliveryID).Msg("dead letter redriven from the console")
	}
	http.Redirect(w, r, Prefix+"dead-letters?redriven="+strconv.Itoa(done), http.StatusSeeOther)
}

func (c *Console) inboxPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Inbox", Nav: "inbox"}
	if c.src.Inbox == nil {
		p.Error = "no console destination here: the inbox shows what ghnotify would post when no Slack is configured (no SLACK_WEBHOOK_URL, no routes file), or what a routes file sends to a console: true destination"
		c.render(w, r, "inbox", p)
		return
	}
	type msg struct {
		Seq                        uint64
		At                         time.Time
		EventID, Kind, Destination string
		HTML                       template.HTML
	}
	var ms []msg
	for _, m := range c.src.Inbox.Recent() {
		ms = append(ms, msg{m.Seq, m.At, m.EventID, m.Kind, m.Destination, drawSlack(m.Message)})
	}
	p.Data = map[string]any{"Messages": ms}
	c.render(w, r, "inbox", p)
}

// deliveryOf returns the id of the delivery an event id belongs to.
func deliveryOf(eventID string) string {
	if i := strings.LastIndexByte(eventID, '/'); i > 0 {
		return eventID[:i]
	}
	return eventID
}
