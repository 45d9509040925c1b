package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/ghnotify/ghnotify/shared/trace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// These tests run real JetStream message schedules, whose clock is the
// server's: the sink's clock (Config.Now) is set a few seconds before the
// end of quiet hours or of a digest period (enough for a slow machine to
// start the sink and hold the events first), and the schedules fire that
// many seconds later. Assertions use the sink's clock, never wall time.

// clockAt returns a clock that reads at now and runs on from there.
func clockAt(at time.Time) func() time.Time {
	offset := time.Until(at)
	return func() time.Time { return time.Now().Add(offset) }
}

// post is one message a recordingSlack accepted.
type post struct {
	text string
	at   time.Time // on the sink's clock
}

// recordingSlack accepts every post and records its text and when it came
// on the sink's clock.
type recordingSlack struct {
	now   func() time.Time
	mu    sync.Mutex
	posts map[string][]post
}

func newRecordingSlack(t *testing.T, now func() time.Time) (*recordingSlack, string) {
	f := &recordingSlack{now: now, posts: map[string][]post{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *recordingSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct{ Text string }
	_ = json.Unmarshal(body, &m)
	f.mu.Lock()
	f.posts[r.URL.Path] = append(f.posts[r.URL.Path], post{text: m.Text, at: f.now()})
	f.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (f *recordingSlack) got(path string) []post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]post(nil), f.posts[path]...)
}

func postTitles(ps []post) []string {
	var out []string
	for _, p := range ps {
		out = append(out, titleRE.FindString(p.text))
	}
	return out
}

func starEvent(repo string, i int) *event.Event {
	kind := "star.created"
	return &event.Event{SpecVersion: event.SpecVersion, ID: event.ID(fmt.Sprintf("star-%s-%d", repo, i), kind), Source: "https://github.com/acme/" + repo,
		Type: event.Type(kind), Time: time.Unix(0, 0).UTC(), DataContentType: event.ContentType, Data: event.Data{
			Kind: kind, Event: "star", Action: "created", DeliveryID: fmt.Sprintf("star-%s-%d", repo, i),
			Repository: &event.Repository{Owner: "acme", Name: repo, FullName: "acme/" + repo, URL: "https://github.com/acme/" + repo},
			Actor:      event.Actor{Login: fmt.Sprintf("fan%d", i), URL: fmt.Sprintf("https://github.com/fan%d", i)},
		}}
}

func publishKind(t *testing.T, js jetstream.JetStream, e *event.Event, msgID string) {
	t.Helper()
	b, err := event.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	ev, verb, _ := strings.Cut(e.Data.Kind, ".")
	m := nats.NewMsg(subject.Event(e.Data.Repository.Owner, e.Data.Repository.Name, ev, verb))
	m.Data = b
	if _, err := js.PublishMsg(context.Background(), m, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

// traceOutcome returns the outcome and reason of the sink's held record of
// a delivery, "" while there is none.
func heldRecord(t *testing.T, js jetstream.JetStream, delivery string) trace.Record {
	recs, err := trace.NewStore(js).List(context.Background(), delivery)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Outcome == trace.OutcomeHeld || r.Outcome == trace.OutcomeDigested {
			return r
		}
	}
	return trace.Record{}
}

const quietRoutesFile = `
destinations:
  team:
    webhook: "${SLACK}/team"
    quiet: {from: "19:00", to: "08:00", tz: Europe/Berlin}
routes:
  - name: incidents
    match: {labels: [incident]}
    to: team
    urgent: true
  - name: all
    to: team
`

// quietEnd is the end of the test's quiet hours: 08:00 in Berlin.
var quietEnd = time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)

func waitHeld(t *testing.T, js jetstream.JetStream, repo string, n int) {
	t.Helper()
	natstest.WaitFor(t, 20*time.Second, "held records", func() bool {
		for i := 1; i <= n; i++ {
			if heldRecord(t, js, fmt.Sprintf("%s-%d", repo, i)).Outcome != trace.OutcomeHeld {
				return false
			}
		}
		return true
	})
}

func checkOnceInOrder(t *testing.T, got []post, n int, notBefore time.Time) {
	t.Helper()
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("event-%d", i))
	}
	if strings.Join(postTitles(got), ",") != strings.Join(want, ",") {
		t.Errorf("posted %v, want each held event once, in order: %v", postTitles(got), want)
	}
	for _, p := range got {
		if p.at.Before(notBefore) {
			t.Errorf("%s posted at %s on the sink's clock, before the quiet hours ended at %s", titleRE.FindString(p.text), p.at.UTC().Format(time.RFC3339Nano), notBefore.Format(time.RFC3339))
		}
	}
}

func TestQuietHoursHoldUntilTheEnd(t *testing.T) {
	ns := natstest.Start(t)
	now := clockAt(quietEnd.Add(-8 * time.Second))
	fake, url := newRecordingSlack(t, now)
	cfg := testConfig(writeRoutes(t, quietRoutesFile), url)
	cfg.Now = now
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	const n = 5
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("q", i), fmt.Sprintf("q%d", i))
	}
	waitHeld(t, ns.JS, "q", n)
	if r := heldRecord(t, ns.JS, "q-1"); !strings.Contains(r.Reason, "held until 2026-12-02T07:00:00Z") {
		t.Errorf("held record reason %q, want it to say until when", r.Reason)
	}
	natstest.WaitFor(t, 30*time.Second, "the held events posted", func() bool { return len(fake.got("/team")) >= n })
	// A marker after the release: everything before it has been posted.
	publish(t, ns.JS, testEvent("q", n+1), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker", func() bool { return len(fake.got("/team")) >= n+1 })
	checkOnceInOrder(t, fake.got("/team"), n+1, quietEnd)
}

func TestQuietHoursSurviveARestart(t *testing.T) {
	ns := natstest.Start(t)
	now := clockAt(quietEnd.Add(-10 * time.Second))
	fake, url := newRecordingSlack(t, now)
	cfg := testConfig(writeRoutes(t, quietRoutesFile), url)
	cfg.Now = now
	stop := startSink(t, cfg, ns.NC)
	const n = 5
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("r", i), fmt.Sprintf("r%d", i))
	}
	waitHeld(t, ns.JS, "r", n)
	stop()
	if got := fake.got("/team"); len(got) > 0 {
		t.Skipf("the first sink released the batch (%d posts) before it was stopped", len(got))
	}
	// A second instance, started after the first is gone, releases them.
	cfg.Registerer = prometheus.NewRegistry()
	stop = startSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 30*time.Second, "the held events posted", func() bool { return len(fake.got("/team")) >= n })
	publish(t, ns.JS, testEvent("r", n+1), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker", func() bool { return len(fake.got("/team")) >= n+1 })
	checkOnceInOrder(t, fake.got("/team"), n+1, quietEnd)
}

func TestUrgentBypassesQuietHours(t *testing.T) {
	ns := natstest.Start(t)
	// 22:00 in Berlin: quiet for hours yet.
	now := clockAt(time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC))
	fake, url := newRecordingSlack(t, now)
	cfg := testConfig(writeRoutes(t, quietRoutesFile), url)
	cfg.Now = now
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	publish(t, ns.JS, testEvent("u", 1), "u1")
	urgent := testEvent("u", 2)
	urgent.Data.Target.Labels = []string{"incident"}
	publish(t, ns.JS, urgent, "u2")
	natstest.WaitFor(t, 20*time.Second, "the urgent post", func() bool { return len(fake.got("/team")) >= 1 })
	waitHeld(t, ns.JS, "u", 1)
	if got := postTitles(fake.got("/team")); len(got) != 1 || got[0] != "event-2" {
		t.Errorf("posted %v, want only the urgent event-2", got)
	}
	if r := heldRecord(t, ns.JS, "u-2"); r.Outcome != "" {
		t.Errorf("urgent event has a %s record: %s", r.Outcome, r.Reason)
	}
}

const digestRoutesFile = `
destinations:
  feed: {webhook: "${SLACK}/feed"}
routes:
  - name: stars
    match: {kind: [star.created]}
    to: feed
    digest: {every: 1h, tz: Europe/Berlin}
  - name: rest
    to: feed
`

func TestDigestPostedOnceByTwoInstances(t *testing.T) {
	ns := natstest.Start(t)
	end := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	now := clockAt(end.Add(-8 * time.Second))
	fake, url := newRecordingSlack(t, now)
	routesFile := writeRoutes(t, digestRoutesFile)
	cfg := testConfig(routesFile, url)
	cfg.Now = now
	stopA := startSink(t, cfg, ns.NC)
	defer stopA()
	cfg.Registerer = prometheus.NewRegistry()
	stopB := startSink(t, cfg, ns.NC)
	defer stopB()
	for i := 1; i <= 12; i++ {
		publishKind(t, ns.JS, starEvent("rocket", i), fmt.Sprintf("sr%d", i))
	}
	for i := 1; i <= 3; i++ {
		publishKind(t, ns.JS, starEvent("comet", i), fmt.Sprintf("sc%d", i))
	}
	natstest.WaitFor(t, 20*time.Second, "digested records", func() bool {
		return heldRecord(t, ns.JS, "star-rocket-12").Outcome == trace.OutcomeDigested && heldRecord(t, ns.JS, "star-comet-3").Outcome == trace.OutcomeDigested
	})
	if r := heldRecord(t, ns.JS, "star-rocket-1"); !strings.Contains(r.Reason, "posted at 2026-12-01T15:00:00Z") {
		t.Errorf("digested record reason %q, want when the digest is posted", r.Reason)
	}
	natstest.WaitFor(t, 30*time.Second, "the digest", func() bool { return len(fake.got("/feed")) >= 1 })
	publish(t, ns.JS, testEvent("marker", 1), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker", func() bool { return len(fake.got("/feed")) >= 2 })
	got := fake.got("/feed")
	if len(got) != 2 || !strings.HasPrefix(got[0].text, "Digest:") || titleRE.FindString(got[1].text) != "event-1" {
		t.Fatalf("posts %+v, want one digest, then the marker", got)
	}
	for _, want := range []string{"12 new stars on acme/rocket", "3 new stars on acme/comet"} {
		if !strings.Contains(got[0].text, want) {
			t.Errorf("digest %q lacks %q", got[0].text, want)
		}
	}
	if got[0].at.Before(end) {
		t.Errorf("digest posted at %s on the sink's clock, before its period ended at %s", got[0].at.UTC().Format(time.RFC3339Nano), end.Format(time.RFC3339))
	}
}

// TestHeldEventsForARemovedDestinationAreDeadLettered: events held for a
// destination that is gone from the routes file when they are released
// are not lost: they go to the dead-letter stream, naming why.
func TestHeldEventsForARemovedDestinationAreDeadLettered(t *testing.T) {
	ns := natstest.Start(t)
	now := clockAt(quietEnd.Add(-10 * time.Second))
	fake, url := newRecordingSlack(t, now)
	routesFile := writeRoutes(t, quietRoutesFile)
	cfg := testConfig(routesFile, url)
	cfg.Now = now
	stop := startSink(t, cfg, ns.NC)
	const n = 3
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("x", i), fmt.Sprintf("x%d", i))
	}
	waitHeld(t, ns.JS, "x", n)
	stop()
	if got := fake.got("/team"); len(got) > 0 {
		t.Skipf("the first sink released the batch (%d posts) before it was stopped", len(got))
	}
	if err := os.WriteFile(routesFile, []byte("destinations:\n  other: {webhook: \"${SLACK}/other\"}\ndefault: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Registerer = prometheus.NewRegistry()
	stop = startSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 30*time.Second, "the released events dead-lettered", func() bool {
		info, err := ns.JS.Stream(context.Background(), provision.StreamDLQ)
		return err == nil && info.CachedInfo().State.Msgs >= n
	})
	for i := uint64(1); i <= n; i++ {
		dl := deadLetter(t, ns.JS, i)
		if !strings.Contains(dl.Header.Get("Ghnotify-Dlq-Reason"), "no longer in the routes file") || dl.Header.Get(deliver.HeaderReleaseTo) != "team" {
			t.Errorf("dead letter %d: %v", i, dl.Header)
		}
	}
	if got := fake.got("/other"); len(got) != 0 {
		t.Errorf("released events went to another destination: %v", postTitles(got))
	}
}

// TestQuietHoursDigest: a route with digest: quiet folds the events of the
// quiet hours into one digest posted when they end.
func TestQuietHoursDigest(t *testing.T) {
	ns := natstest.Start(t)
	now := clockAt(quietEnd.Add(-8 * time.Second))
	fake, url := newRecordingSlack(t, now)
	cfg := testConfig(writeRoutes(t, `
destinations:
  team:
    webhook: "${SLACK}/team"
    quiet: {from: "19:00", to: "08:00", tz: Europe/Berlin}
routes:
  - name: overnight
    to: team
    digest: quiet
`), url)
	cfg.Now = now
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	for i := 1; i <= 3; i++ {
		publish(t, ns.JS, testEvent("qd", i), fmt.Sprintf("qd%d", i))
	}
	natstest.WaitFor(t, 20*time.Second, "digested records", func() bool {
		return heldRecord(t, ns.JS, "qd-3").Outcome == trace.OutcomeDigested
	})
	natstest.WaitFor(t, 30*time.Second, "the digest", func() bool { return len(fake.got("/team")) >= 1 })
	publish(t, ns.JS, testEvent("qd", 4), "marker")
	natstest.WaitFor(t, 20*time.Second, "the marker", func() bool { return len(fake.got("/team")) >= 2 })
	got := fake.got("/team")
	if len(got) != 2 || !strings.Contains(got[0].text, "3 issues opened in acme/qd") || titleRE.FindString(got[1].text) != "event-4" {
		t.Fatalf("posts %+v, want one digest of 3 issues, then the marker", got)
	}
	if got[0].at.Before(quietEnd) {
		t.Errorf("digest posted at %s on the sink's clock, before the quiet hours ended", got[0].at.UTC().Format(time.RFC3339Nano))
	}
}
