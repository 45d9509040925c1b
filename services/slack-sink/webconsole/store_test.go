package webconsole

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/history"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// storeDelivery stores a raw delivery, its normalizer trace record and
// its event, as the gateway and the normalizer would.
func storeDelivery(t *testing.T, js jetstream.JetStream, id string) {
	t.Helper()
	ctx := context.Background()
	d := delivery.Delivery{Event: "issues", ID: id, HookID: "1", ReceivedAt: time.Now(), Body: []byte(`{"action":"opened","issue":{"number":7}}`)}
	if _, err := js.PublishMsg(ctx, d.Msg()); err != nil {
		t.Fatal(err)
	}
	ev := hostileEvent()
	ev.ID = id + "/issues.opened"
	body, _ := json.Marshal(ev)
	m := nats.NewMsg("github.event.acme.rocket.issues.opened")
	m.Data = body
	m.Header.Set(jetstream.MsgIDHeader, ev.ID)
	m.Header.Set(delivery.HeaderDelivery, id)
	m.Header.Set(event.HeaderKind, "issues.opened")
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := trace.NewStore(js).Put(ctx, trace.Key(id, trace.StageNormalizer), trace.Record{Stage: trace.StageNormalizer, DeliveryID: id, Event: "issues", Outcome: trace.OutcomeNormalized, Kinds: []string{"issues.opened"}, Subjects: []string{m.Subject}, ReceivedAt: d.ReceivedAt}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreOverJetStream(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	storeDelivery(t, ns.JS, "d-1")
	// A dead letter of the sink for d-1.
	dl := deadletter.Letter{Stage: trace.StageSink, Subject: "github.event.acme.rocket.issues.opened", Data: []byte(`{}`), Reason: "404 channel_not_found",
		Header: nats.Header{delivery.HeaderDelivery: {"d-1"}, deadletter.HeaderDestination: {"gone"}, jetstream.MsgIDHeader: {"d-1/issues.opened"}}, ID: "sink:test:1"}
	if err := (&deadletter.Publisher{JS: ns.JS}).Publish(ctx, dl); err != nil {
		t.Fatal(err)
	}
	s := &Store{JS: ns.JS}
	vs, err := s.List(ctx, history.Filter{Since: time.Now().Add(-time.Hour)})
	if err != nil || len(vs) != 1 || vs[0].DeliveryID != "d-1" || vs[0].Repository != "acme/rocket" || len(vs[0].DeadLetters) != 1 {
		t.Fatalf("List = %+v, %v", vs, err)
	}
	v, err := s.Get(ctx, "d-1")
	if err != nil || v == nil || len(v.Raw) != 1 || len(v.Events) != 1 {
		t.Fatalf("Get = %+v, %v", v, err)
	}
	if v, err := s.Get(ctx, "nope"); v != nil || err != nil {
		t.Fatalf("Get of an unknown delivery = %+v, %v", v, err)
	}
	h, body, err := s.Raw(ctx, v.Raw[0].Sequence)
	if err != nil || h.Get(delivery.HeaderDelivery) != "d-1" || !strings.Contains(string(body), `"number":7`) {
		t.Fatalf("Raw = %v %s %v", h, body, err)
	}
	eb, err := s.Event(ctx, v.Events[0].Sequence)
	if err != nil || !strings.Contains(string(eb), "issues.opened") {
		t.Fatalf("Event = %s %v", eb, err)
	}
	letters := s.DeadLetters()
	ls, err := letters.List(ctx)
	if err != nil || len(ls) != 1 || ls[0].Destination != "gone" {
		t.Fatalf("dead letters = %+v, %v", ls, err)
	}
	r, err := letters.Redrive(ctx, ls[0].Sequence)
	if err != nil || r.To != dl.Subject {
		t.Fatalf("Redrive = %+v, %v", r, err)
	}
	if ls, _ := letters.List(ctx); len(ls) != 0 {
		t.Fatalf("the redriven dead letter is still listed: %+v", ls)
	}
	events, _ := ns.JS.Stream(ctx, provision.StreamEvents)
	m, err := events.GetLastMsgForSubject(ctx, dl.Subject)
	if err != nil || m.Header.Get("Ghnotify-Replay-To") != "gone" {
		t.Fatalf("redriven message: %+v, %v", m, err)
	}
}

// sse reads a Server-Sent Events stream line by line.
func sse(t *testing.T, url string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// waitLine waits for a line containing want, returning the lines before it.
func waitLine(t *testing.T, lines <-chan string, want string) []string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	var before []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q", want)
			}
			if strings.Contains(l, want) {
				return before
			}
			before = append(before, l)
		case <-deadline:
			t.Fatalf("timed out waiting for %q", want)
		}
	}
}

func TestLiveFeeds(t *testing.T) {
	ns := natstest.Start(t)
	s := &Store{JS: ns.JS}
	inbox := slack.NewInbox(10)
	c := New(Sources{Deliveries: s, Payloads: s, DeadLetters: s.DeadLetters(), Changes: s, Inbox: inbox}, Options{Log: zerolog.Nop()})
	srv := httptest.NewServer(c)
	// Registered first, so it runs after the streams' cleanups end them.
	t.Cleanup(srv.Close)

	all := sse(t, srv.URL+"/console/events")
	one := sse(t, srv.URL+"/console/events?delivery=d-3")
	waitLine(t, all, "event: ready")
	waitLine(t, one, "event: ready")
	storeDelivery(t, ns.JS, "d-2")
	waitLine(t, all, "data: d-2")
	storeDelivery(t, ns.JS, "d-3")
	for _, l := range waitLine(t, one, "data: d-3") {
		if strings.Contains(l, "d-2") {
			t.Fatalf("the feed of d-3 told of d-2: %q", l)
		}
	}
	waitLine(t, all, "data: d-3")

	msgs := sse(t, srv.URL+"/console/inbox/events")
	waitLine(t, msgs, "event: ready")
	inbox.Add(slack.InboxMessage{EventID: "d-3/issues.opened", Kind: "issues.opened", Destination: "console", Message: []byte(`{"text":"<script>","blocks":[{"type":"header","text":{"type":"plain_text","text":":rocket: &lt;b&gt;"}}]}`)})
	waitLine(t, msgs, "event: message")
	waitLine(t, msgs, `class="inbox-msg" data-seq="1"`)

	// Live views are bounded.
	c.opts.MaxStreams = 3
	resp, err := http.Get(srv.URL + "/console/inbox/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a fourth live view: %d, want 503", resp.StatusCode)
	}
}
