package webconsole

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/history"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// hostile is GitHub text that would run script if it reached the HTML.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// fakeStore is a hand-written DeliveryLister, Payloads and DeadLetters.
type fakeStore struct {
	views    []*history.View
	raw      map[uint64][]byte
	events   map[uint64][]byte
	letters  []deadletter.Info
	redriven []uint64
	filters  []history.Filter
}

func (f *fakeStore) List(_ context.Context, fl history.Filter) ([]*history.View, error) {
	f.filters = append(f.filters, fl)
	return f.views, nil
}

func (f *fakeStore) Get(_ context.Context, id string) (*history.View, error) {
	for _, v := range f.views {
		if v.DeliveryID == id {
			return v, nil
		}
	}
	return nil, nil
}

func (f *fakeStore) Raw(_ context.Context, seq uint64) (nats.Header, []byte, error) {
	b, ok := f.raw[seq]
	if !ok {
		return nil, nil, errors.New("no such message")
	}
	return nats.Header{delivery.HeaderEvent: {"issues"}, delivery.HeaderDelivery: {"d-1"}, "X-Hub-Signature-256": {"sha256=deadbeef"}}, b, nil
}

func (f *fakeStore) Event(_ context.Context, seq uint64) ([]byte, error) {
	b, ok := f.events[seq]
	if !ok {
		return nil, errors.New("no such message")
	}
	return b, nil
}

type fakeLetters struct{ f *fakeStore }

func (l fakeLetters) List(context.Context) ([]deadletter.Info, error) { return l.f.letters, nil }

func (l fakeLetters) Redrive(_ context.Context, seq uint64) (deadletter.Redriven, error) {
	for i, x := range l.f.letters {
		if x.Sequence == seq {
			l.f.redriven = append(l.f.redriven, seq)
			l.f.letters = append(l.f.letters[:i:i], l.f.letters[i+1:]...)
			return deadletter.Redriven{Info: x, To: x.Subject}, nil
		}
	}
	return deadletter.Redriven{}, deadletter.ErrNotFound
}

// hostileEvent is a canonical event whose every string is hostile.
func hostileEvent() event.Event {
	return event.Event{ID: "d-1/issues.opened", Data: event.Data{
		Kind:       "issues.opened",
		Repository: &event.Repository{FullName: "acme/" + hostile, URL: "https://github.com/acme/rocket"},
		Actor:      event.Actor{Login: hostile, URL: "javascript:alert(3)"},
		Target:     &event.Target{Number: 7, Title: hostile, Body: hostile, URL: "https://github.com/acme/rocket/issues/7"},
	}}
}

func newFake(t *testing.T) *fakeStore {
	t.Helper()
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	ev := hostileEvent()
	evJSON, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	v := &history.View{
		DeliveryID: "d-1", Event: "issues", Kinds: []string{"issues.opened"}, Repository: "acme/" + hostile, ReceivedAt: at,
		Raw:    []history.RawCopy{{Sequence: 1, Subject: "github.raw.issues", StoredAt: at}},
		Events: []history.EventCopy{{Sequence: 3, Subject: "github.event.acme.rocket.issues.opened", EventID: ev.ID, Kind: "issues.opened", StoredAt: at}},
		Fates: []history.Fate{
			{Stage: trace.StageNormalizer, Outcome: trace.OutcomeNormalized, At: at},
			{Stage: trace.StageSink, Outcome: trace.OutcomePosted, Kind: "issues.opened", Route: "default", Destination: "console", EventID: ev.ID, At: at},
			{Stage: trace.StageSink, Outcome: trace.OutcomeDeadLettered, Kind: "issues.opened", Route: "default", Destination: "gone", Reason: "404 " + hostile, EventID: ev.ID, At: at},
		},
	}
	v.Finish()
	return &fakeStore{
		views:   []*history.View{v},
		raw:     map[uint64][]byte{1: []byte(`{"action":"opened","issue":{"title":"` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}}`)},
		events:  map[uint64][]byte{3: evJSON},
		letters: []deadletter.Info{{Sequence: 12, Stage: trace.StageSink, DeliveryID: "d-1", Kind: "issues.opened", Subject: "github.event.acme.rocket.issues.opened", Destination: "gone", Reason: "404 channel_not_found " + hostile, Time: at}},
	}
}

func consoleTable(t *testing.T) *routes.Table {
	t.Helper()
	tb, err := routes.Parse("routes.yaml", []byte(`destinations:
  console:
    console: true
  quiet:
    console: true
routes:
  - name: bots
    drop: true
    match:
      bot: true
  - name: issues
    match:
      kind: "issues.*"
    to: console
default: quiet
`), routes.Options{Types: routes.Types{"console": slack.Console{W: io.Discard}}})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

type fixture struct {
	store *fakeStore
	inbox *slack.Inbox
	c     *Console
	srv   *httptest.Server
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	f := &fixture{store: newFake(t), inbox: slack.NewInbox(10)}
	tables := &Tables{}
	tables.Set(consoleTable(t))
	f.c = New(Sources{
		Deliveries: f.store, Payloads: f.store, DeadLetters: fakeLetters{f.store}, Routes: tables, Inbox: f.inbox,
		Normalize: func(d delivery.Delivery) ([]event.Event, error) {
			if d.Event != "issues" {
				return nil, errors.New("unknown event")
			}
			return []event.Event{hostileEvent()}, nil
		},
	}, Options{Token: config.Secret(token), Log: zerolog.Nop()})
	f.srv = httptest.NewServer(f.c)
	t.Cleanup(f.srv.Close)
	return f
}

// client keeps cookies and does not follow redirects.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar := &cookieJar{m: map[string]*http.Cookie{}}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// cookieJar is a minimal jar for one host.
type cookieJar struct{ m map[string]*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		j.m[c.Name] = c
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, c)
	}
	return out
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// csrfOf reads the CSRF token a page carries.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// noHostileMarkup fails when GitHub's text became markup.
func noHostileMarkup(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script>", "<img", `href="javascript`} {
		if strings.Contains(body, bad) {
			t.Fatalf("hostile text %q reached the page unescaped", bad)
		}
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t, "")
	f.inbox.Add(slack.InboxMessage{EventID: "d-1/issues.opened", Kind: "issues.opened", Destination: "console", Message: []byte(`{"text":"x","blocks":[{"type":"header","text":{"type":"plain_text","text":":rocket: ` + `&lt;script&gt;` + `"}}]}`)})
	cases := []struct {
		path string
		code int
		want []string
	}{
		{"/console/deliveries", 200, []string{"d-1", "issues.opened", "posted console", "dead-lettered gone", `data-src="/console/events"`, "acme/&lt;script&gt;"}},
		{"/console/deliveries?kind=push.pushed", 200, []string{"No deliveries within 24h0m0s matching the filter"}},
		{"/console/deliveries?since=soon", 400, []string{"is not a duration"}},
		{"/console/deliveries?fate=lost", 400, []string{"is not one of"}},
		{"/console/deliveries/d-1", 200, []string{"Timeline", "stored raw #1 on github.raw.issues", "Messages posted", `class="bk-header"`, "Canonical events", "Raw payload", "X-GitHub-Event", "&#34;action&#34;: &#34;opened&#34;"}},
		{"/console/deliveries/nope", 404, []string{"nothing is known about delivery nope"}},
		{"/console/dead-letters", 200, []string{"channel_not_found", `name="seq" value="12"`, "Redrive all (1)"}},
		{"/console/routes", 200, []string{"routes.yaml", "bots", "drop", "issues", "quiet", "default", "Test a payload"}},
		{"/console/inbox", 200, []string{"🚀", "&lt;script&gt;", `data-src="/console/inbox/events"`}},
		{"/console/static/console.css", 200, []string{".bk-mention"}},
		{"/console/static/console.js", 200, []string{"EventSource"}},
		{"/console/", 303, nil},
	}
	c := client(t)
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, body, h := get(t, c, f.srv.URL+tc.path)
			if code != tc.code {
				t.Fatalf("GET %s = %d, want %d\n%s", tc.path, code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: missing %q in\n%s", tc.path, w, body)
				}
			}
			noHostileMarkup(t, body)
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers missing: %v", h)
			}
		})
	}
	if fl := f.store.filters[len(f.store.filters)-1]; time.Since(fl.Since) < 23*time.Hour {
		t.Errorf("default window is %s, want 24h", time.Since(fl.Since))
	}
	// A signature header is never shown, should one be stored.
	if _, body, _ := get(t, c, f.srv.URL+"/console/deliveries/d-1"); strings.Contains(body, "deadbeef") {
		t.Error("the delivery page shows a signature header")
	}
}

func TestRedriveAsksThenRedrives(t *testing.T) {
	f := newFixture(t, "")
	c := client(t)
	_, page, _ := get(t, c, f.srv.URL+"/console/dead-letters")
	tok := csrfOf(t, page)

	// Without the CSRF token, or with another one, nothing happens.
	for _, form := range []url.Values{{"seq": {"12"}, "confirm": {"yes"}}, {"seq": {"12"}, "confirm": {"yes"}, "csrf": {strings.Repeat("0", 64)}}} {
		if code, _, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", form); code != http.StatusForbidden {
			t.Fatalf("redrive without the right CSRF token answered %d, want 403", code)
		}
	}
	// From another origin, nothing happens either.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/dead-letters/redrive", strings.NewReader(url.Values{"seq": {"12"}, "confirm": {"yes"}, "csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin redrive answered %d, want 403", resp.StatusCode)
	}
	if len(f.store.redriven) != 0 {
		t.Fatalf("redriven without a valid request: %v", f.store.redriven)
	}

	// The first POST asks for confirmation and changes nothing.
	code, body, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"seq": {"12"}, "csrf": {tok}})
	if code != 200 || !strings.Contains(body, "Yes, redrive 1") || len(f.store.redriven) != 0 {
		t.Fatalf("confirmation page: %d, redriven %v\n%s", code, f.store.redriven, body)
	}
	noHostileMarkup(t, body)
	// Confirmed, it redrives and says so.
	code, _, h := post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"seq": {"12"}, "csrf": {tok}, "confirm": {"yes"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/console/dead-letters?redriven=1" || len(f.store.redriven) != 1 || f.store.redriven[0] != 12 {
		t.Fatalf("confirmed redrive: %d %s, redriven %v", code, h.Get("Location"), f.store.redriven)
	}
	_, body, _ = get(t, c, f.srv.URL+h.Get("Location"))
	if !strings.Contains(body, "Redrove 1 dead letter(s)") || !strings.Contains(body, "No dead letters.") {
		t.Fatalf("after the redrive:\n%s", body)
	}

	bad := []url.Values{
		{"seq": {"x"}, "csrf": {tok}},
		{"csrf": {tok}},
		{"seq": {"1"}, "all": {"yes"}, "csrf": {tok}},
	}
	for _, form := range bad {
		if code, _, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", form); code != http.StatusBadRequest {
			t.Errorf("redrive %v answered %d, want 400", form, code)
		}
	}
	if code, _, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"seq": {"99"}, "csrf": {tok}}); code != http.StatusNotFound {
		t.Errorf("redrive of an unknown dead letter answered %d, want 404", code)
	}
}

func TestRedriveAll(t *testing.T) {
	f := newFixture(t, "")
	f.store.letters = append(f.store.letters, deadletter.Info{Sequence: 13, Stage: trace.StageNormalizer, Reason: "unparsable"})
	c := client(t)
	_, page, _ := get(t, c, f.srv.URL+"/console/dead-letters")
	tok := csrfOf(t, page)
	code, body, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"all": {"yes"}, "csrf": {tok}})
	if code != 200 || !strings.Contains(body, "Yes, redrive 2") || len(f.store.redriven) != 0 {
		t.Fatalf("confirmation of redrive all: %d %v\n%s", code, f.store.redriven, body)
	}
	code, _, _ = post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"all": {"yes"}, "csrf": {tok}, "confirm": {"yes"}})
	if code != http.StatusSeeOther || len(f.store.redriven) != 2 {
		t.Fatalf("redrive all: %d, redriven %v", code, f.store.redriven)
	}
}

func TestRoutesTester(t *testing.T) {
	f := newFixture(t, "")
	c := client(t)
	_, page, _ := get(t, c, f.srv.URL+"/console/routes")
	tok := csrfOf(t, page)
	cases := []struct {
		name string
		form url.Values
		code int
		want []string
	}{
		{"pasted payload", url.Values{"event": {"issues"}, "payload": {`{"action":"opened"}`}}, 200,
			[]string{"Result for the pasted issues payload", "yes, to [console]", `class="bk-header"`, "as JSON"}},
		{"stored delivery", url.Values{"delivery": {"d-1"}}, 200, []string{"stored delivery d-1 (issues), normalized again", "yes, to [console]"}},
		{"no event name", url.Values{"payload": {`{}`}}, 400, []string{"name the GitHub event"}},
		{"invalid JSON", url.Values{"event": {"issues"}, "payload": {`{`}}, 400, []string{"not valid JSON"}},
		{"normalizer error", url.Values{"event": {"push"}, "payload": {`{}`}}, 400, []string{"normalizing the payload: unknown event"}},
		{"nothing", url.Values{}, 400, []string{"paste a payload, or pick a stored delivery"}},
		{"unknown delivery", url.Values{"delivery": {"nope"}}, 400, []string{"nothing is known about delivery nope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", tok)
			code, body, _ := post(t, c, f.srv.URL+"/console/routes/test", tc.form)
			if code != tc.code {
				t.Fatalf("answered %d, want %d\n%s", code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("missing %q in\n%s", w, body)
				}
			}
			noHostileMarkup(t, body)
		})
	}
	// Without the normalizer, a stored delivery's own events are routed.
	f.c.src.Normalize = nil
	code, body, _ := post(t, c, f.srv.URL+"/console/routes/test", url.Values{"delivery": {"d-1"}, "csrf": {tok}})
	if code != 200 || !strings.Contains(body, "the stored events of delivery d-1") || !strings.Contains(body, "yes, to [console]") {
		t.Fatalf("tester without a normalizer: %d\n%s", code, body)
	}
	if code, body, _ := post(t, c, f.srv.URL+"/console/routes/test", url.Values{"event": {"issues"}, "payload": {"{}"}, "csrf": {tok}}); code != 400 || !strings.Contains(body, "cannot normalize a pasted payload") {
		t.Fatalf("pasting without a normalizer: %d\n%s", code, body)
	}
}

func TestTokenGuardsEveryPage(t *testing.T) {
	const token = "s3cret-console-token"
	f := newFixture(t, token)
	c := client(t)
	for _, p := range []string{"/console/deliveries", "/console/deliveries/d-1", "/console/dead-letters", "/console/routes", "/console/inbox"} {
		code, _, h := get(t, c, f.srv.URL+p)
		if code != http.StatusSeeOther || h.Get("Location") != "/console/login" {
			t.Errorf("GET %s without the token: %d %s, want a redirect to the login", p, code, h.Get("Location"))
		}
	}
	for _, p := range []string{"/console/events", "/console/inbox/events"} {
		if code, _, _ := get(t, c, f.srv.URL+p); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", p, code)
		}
	}
	_, login, _ := get(t, c, f.srv.URL+"/console/login")
	tok := csrfOf(t, login)
	// A redrive without the token does nothing, CSRF token or not.
	if code, _, _ := post(t, c, f.srv.URL+"/console/dead-letters/redrive", url.Values{"seq": {"12"}, "confirm": {"yes"}, "csrf": {tok}}); code != http.StatusUnauthorized || len(f.store.redriven) != 0 {
		t.Fatalf("redrive without the token: %d, redriven %v", code, f.store.redriven)
	}
	code, _, h := post(t, c, f.srv.URL+"/console/login", url.Values{"token": {"wrong"}, "csrf": {tok}})
	if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "failed") {
		t.Fatalf("wrong token: %d %s", code, h.Get("Location"))
	}
	if code, _, _ := get(t, c, f.srv.URL+"/console/deliveries"); code != http.StatusSeeOther {
		t.Fatalf("a wrong token signed in: %d", code)
	}
	code, _, h = post(t, c, f.srv.URL+"/console/login", url.Values{"token": {token}, "csrf": {tok}})
	if code != http.StatusSeeOther || h.Get("Location") != "/console/" {
		t.Fatalf("right token: %d %s", code, h.Get("Location"))
	}
	for _, ck := range h.Values("Set-Cookie") {
		if strings.Contains(ck, token) {
			t.Fatalf("the session cookie holds the token: %s", ck)
		}
	}
	code, body, _ := get(t, c, f.srv.URL+"/console/deliveries")
	if code != 200 || !strings.Contains(body, "d-1") {
		t.Fatalf("signed in: %d\n%s", code, body)
	}
	// Scripts may send the token as a bearer token.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/console/dead-letters", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bearer token: %d", resp.StatusCode)
	}
	// With a token, any host name is fine (the token is the guard).
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/console/dead-letters", nil)
	req.Host = "ops.example.internal:9092"
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bearer token with another host name: %d", resp.StatusCode)
	}
}

func TestWithoutTokenOnlyLoopbackHostNames(t *testing.T) {
	f := newFixture(t, "")
	for host, want := range map[string]int{
		"127.0.0.1:9093": 200, "localhost:9093": 200, "[::1]:9093": 200, "LOCALHOST": 200,
		"evil.example": http.StatusMisdirectedRequest, "10.0.0.5:9093": http.StatusMisdirectedRequest, "127.0.0.1.evil.example": http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/console/dead-letters", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestServe(t *testing.T) {
	cases := []struct {
		mode, token, addr string
		on                bool
		err               bool
	}{
		{"auto", "", "127.0.0.1:9093", true, false},
		{"auto", "", "localhost:9093", true, false},
		{"auto", "", "[::1]:9093", true, false},
		{"auto", "", ":9092", false, false},
		{"auto", "t", ":9092", true, false},
		{"true", "", "0.0.0.0:9092", false, true},
		{"true", "t", "0.0.0.0:9092", true, false},
		{"true", "", "127.0.0.1:9093", true, false},
		{"false", "t", "127.0.0.1:9093", false, false},
		{"auto", "", "off", false, false},
		{"maybe", "", "127.0.0.1:9093", false, true},
	}
	for _, c := range cases {
		on, err := Config{Mode: c.mode, Token: config.Secret(c.token)}.Serve(c.addr)
		if on != c.on || (err != nil) != c.err {
			t.Errorf("Serve(%s, token %q, %s) = %v, %v; want %v, error %v", c.mode, c.token, c.addr, on, err, c.on, c.err)
		}
		if err != nil && c.token != "" && strings.Contains(err.Error(), c.token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	env := config.NewEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"GHNOTIFY_CONSOLE": "true"}[k]
		return v, ok
	})
	FromEnv(env, ":9092")
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "GHNOTIFY_CONSOLE_TOKEN") {
		t.Errorf("a console on :9092 without a token was accepted: %v", err)
	}
}
