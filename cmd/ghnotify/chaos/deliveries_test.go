//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/hooksign"
	"github.com/ghnotify/ghnotify/services/normalizer/normalize"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/delivery"
)

// markerRE finds the delivery a Slack message is about: every delivery's
// sender login is rewritten to chaos-NNNNN, its index, and every layout
// shows the actor.
var markerRE = regexp.MustCompile(`chaos-([0-9]{5})\b`)

func marker(i int) string { return fmt.Sprintf("chaos-%05d", i) }

// template is one corpus payload the suite can send.
type template struct {
	event string
	file  string
	obj   map[string]any
}

// sentDelivery is one delivery the suite sends, and what became of it.
type sentDelivery struct {
	idx    int
	id     string
	event  string
	file   string
	signed hooksign.Delivery
	// eventID is the canonical event the delivery must become; empty when
	// the normalizer must refuse it (normErr), and then dead-letter it.
	eventID string
	kind    string
	normErr string

	mu sync.Mutex
	// attempts are the answers, in order: an HTTP status, or 0 for a
	// connection error or timeout.
	attempts []int
	// firstSentAt and acceptedAt: when the first attempt started, and
	// when a 2xx answered (zero if none did).
	firstSentAt time.Time
	acceptedAt  time.Time
}

func (d *sentDelivery) accepted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.acceptedAt.IsZero()
}

// firstAccepted reports a delivery answered 2xx on its first try.
func (d *sentDelivery) firstAccepted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.attempts) > 0 && d.attempts[0]/100 == 2
}

// loadTemplates reads the corpus and keeps every payload whose Slack
// message, once its sender is rewritten, names the delivery; it fails the
// test when the corpus is missing.
func loadTemplates(t *testing.T) ([]template, []string) {
	t.Helper()
	dir := filepath.Join(corpus.RepoRoot(t), "..", "shared", "testdata", "github-webhooks")
	if _, err := os.Stat(filepath.Join(dir, "INDEX.tsv")); err != nil {
		t.Fatalf("payload corpus missing at %s: the chaos suite sends its payloads and cannot run without it", dir)
	}
	var out []template
	var excluded []string
	for _, e := range corpus.Entries(t, dir) {
		raw, err := os.ReadFile(filepath.Join(dir, e.File))
		if err != nil {
			t.Fatalf("reading corpus payload: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			excluded = append(excluded, e.File+" (not a JSON object)")
			continue
		}
		tpl := template{event: e.Event, file: e.File, obj: obj}
		body := tpl.body(99999)
		evs, err := normalize.Normalize(delivery.Delivery{Event: e.Event, ID: "probe", Body: body})
		if err != nil {
			// The normalizer refuses it: the delivery must be dead-lettered.
			out = append(out, tpl)
			continue
		}
		ok := len(evs) == 1
		if ok {
			m, err := json.Marshal(message.Render(&evs[0]))
			ok = err == nil && bytes.Contains(m, []byte(marker(99999)))
		}
		if !ok {
			excluded = append(excluded, e.File+" (its message does not show the sender)")
			continue
		}
		out = append(out, tpl)
	}
	if len(out) == 0 {
		t.Fatal("no corpus payload can be traced to Slack")
	}
	return out, excluded
}

// body is the template's payload for delivery i: the sender's login is the
// delivery's marker and a chaos_delivery field makes every body unique, so
// the gateway's body dedupe never takes one delivery for another.
func (tpl template) body(i int) []byte {
	obj := make(map[string]any, len(tpl.obj)+1)
	for k, v := range tpl.obj {
		obj[k] = v
	}
	sender := map[string]any{"id": json.Number("4242"), "type": "User"}
	if s, ok := tpl.obj["sender"].(map[string]any); ok {
		for k, v := range s {
			sender[k] = v
		}
	}
	sender["login"] = marker(i)
	sender["html_url"] = "https://github.com/" + marker(i)
	obj["sender"] = sender
	obj["chaos_delivery"] = json.Number(strconv.Itoa(i))
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err) // a decoded JSON object always encodes
	}
	return b
}

// buildDeliveries signs n deliveries cycling through the templates; every
// seventh is form-encoded, as hooks created through GitHub's API send.
func buildDeliveries(t *testing.T, tpls []template, n int, secret string) []*sentDelivery {
	t.Helper()
	out := make([]*sentDelivery, n)
	for i := range n {
		tpl := tpls[i%len(tpls)]
		body := tpl.body(i)
		d := &sentDelivery{idx: i, id: fmt.Sprintf("c4a05e00-0000-4000-8000-%012d", i), event: tpl.event, file: tpl.file}
		evs, err := normalize.Normalize(delivery.Delivery{Event: tpl.event, ID: d.id, Body: body})
		switch {
		case err != nil:
			d.normErr = err.Error()
		case len(evs) != 1:
			t.Fatalf("%s normalized to %d events", tpl.file, len(evs))
		default:
			d.eventID, d.kind = evs[0].ID, evs[0].Data.Kind
		}
		d.signed, err = hooksign.Sign(body, hooksign.Params{Event: tpl.event, DeliveryID: d.id, HookID: "4242", Secret: []byte(secret), Form: i%7 == 3})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = d
	}
	return out
}

// send posts d once and records the answer.
func send(ctx context.Context, client *http.Client, url string, d *sentDelivery) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.signed.Body))
	if err != nil {
		panic(err)
	}
	for k, vs := range d.signed.Header {
		req.Header[k] = vs
	}
	start := time.Now()
	status := 0
	resp, err := client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	d.mu.Lock()
	if len(d.attempts) == 0 {
		d.firstSentAt = start
	}
	d.attempts = append(d.attempts, status)
	if status/100 == 2 && d.acceptedAt.IsZero() {
		d.acceptedAt = time.Now()
	}
	d.mu.Unlock()
	return status
}
