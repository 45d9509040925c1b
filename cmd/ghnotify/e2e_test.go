package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/normalizer"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/rs/zerolog"
)

// fakeSlack is an httptest Slack incoming webhook that records every post.
type fakeSlack struct {
	mu    sync.Mutex
	posts [][]byte
}

// ServeHTTP records one post and answers "ok" as Slack does.
func (s *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.posts = append(s.posts, b)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

// Posts returns a copy of the bodies posted so far.
func (s *fakeSlack) Posts() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.posts...)
}

// issuePayload is a small issues/opened payload written for these tests.
func issuePayload(number int, title string) []byte {
	b, _ := json.Marshal(map[string]any{
		"action": "opened",
		"issue": map[string]any{
			"id": 9000 + number, "number": number, "title": title, "state": "open",
			"html_url": "https://github.com/acme/rocket/issues/" + strconv.Itoa(number),
			"body":     "It broke.",
			"user":     map[string]any{"login": "wile", "id": 501, "type": "User"},
			"labels":   []any{}, "assignees": []any{},
		},
		"repository": map[string]any{
			"id": 1001, "name": "rocket", "full_name": "acme/rocket", "private": false,
			"html_url": "https://github.com/acme/rocket", "default_branch": "main",
			"owner": map[string]any{"login": "acme", "id": 101, "type": "Organization"},
		},
		"sender": map[string]any{"login": "wile", "id": 501, "type": "User"},
	})
	return b
}

// postDelivery signs payload with secret and posts it to the gateway at base
// under the given delivery id, returning the status code.
func postDelivery(t *testing.T, base, secret, event, id string, payload []byte) int {
	t.Helper()
	d, err := signDelivery(payload, deliveryParams{Event: event, DeliveryID: id, HookID: "1", Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+defaultGatewayPath, strings.NewReader(string(d.Body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = d.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting delivery %s: %v", id, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// envOf returns a config.Lookup over a map.
func envOf(m map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEndToEndIssueOpenedBecomesOneSlackPost(t *testing.T) {
	tests := []struct {
		name     string
		external bool
	}{
		{name: "embedded nats"},
		{name: "external nats from NATS_URL", external: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testEndToEnd(t, tt.external) })
	}
}

// testEndToEnd runs the whole stack in-process, with an httptest Slack, and
// checks that a signed issues/opened delivery becomes exactly one post.
func testEndToEnd(t *testing.T, externalNATS bool) {
	slack := &fakeSlack{}
	slackSrv := httptest.NewServer(slack)
	defer slackSrv.Close()

	const secret = "e2e-webhook-secret"
	env := config.NewEnv(envOf(map[string]string{
		"GITHUB_WEBHOOK_SECRET": secret,
		"SLACK_WEBHOOK_URL":     slackSrv.URL + "/services/T000/B000/XXXX",
		// No operations endpoints: their default ports may be taken.
		"GHNOTIFY_OPS_ADDR": "off",
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stackConfig{
		DataDir:         t.TempDir(),
		NATSListen:      listenOff,
		Provision:       provision.Defaults(),
		ShutdownTimeout: 30 * time.Second,
		Gateway:         gateway.ConfigFromEnv(env),
		Normalizer:      normalizer.ConfigFromEnv(env),
		Sink:            sink.ConfigFromEnv(env),
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	cfg.Gateway.Listener = ln
	if externalNATS {
		cfg.NATS.URL = natstest.Start(t).Srv.ClientURL()
	}
	logs := &syncBuffer{}
	dumpOnFailure(t, "stack log", logs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- runStack(ctx, cfg, zerolog.New(logs)) }()

	base := "http://" + ln.Addr().String()
	waitHealthy(t, base, 30*time.Second)

	first := issuePayload(42, "Launch countdown skips from 3 to 1")
	if code := postDelivery(t, base, secret, "issues", "e2e-delivery-1", first); code/100 != 2 {
		t.Fatalf("gateway answered %d to a signed delivery", code)
	}
	natstest.WaitFor(t, 30*time.Second, "the first Slack post", func() bool { return len(slack.Posts()) >= 1 })

	// GitHub's redelivery carries the same delivery id; it must not post again.
	if code := postDelivery(t, base, secret, "issues", "e2e-delivery-1", first); code/100 != 2 {
		t.Fatalf("gateway answered %d to a redelivery", code)
	}
	// A wrong signature changes nothing.
	if code := postDelivery(t, base, "not-the-secret", "issues", "e2e-forged", issuePayload(666, "Forged")); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("gateway answered %d to a forged delivery, want 401 or 403", code)
	}
	// A later delivery is the barrier: once it is posted, anything the
	// redelivery could have caused would have been posted before it.
	if code := postDelivery(t, base, secret, "issues", "e2e-delivery-2", issuePayload(43, "Second issue barrier")); code/100 != 2 {
		t.Fatalf("gateway answered %d to the second delivery", code)
	}
	natstest.WaitFor(t, 30*time.Second, "the second Slack post", func() bool {
		for _, p := range slack.Posts() {
			if strings.Contains(string(p), "Second issue barrier") {
				return true
			}
		}
		return false
	})

	posts := slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("Slack got %d posts, want exactly 2 (one per distinct delivery):\n%s", len(posts), joinPosts(posts))
	}
	var firstPosts int
	for _, p := range posts {
		var msg map[string]any
		if err := json.Unmarshal(p, &msg); err != nil {
			t.Fatalf("Slack post is not JSON: %v\n%s", err, p)
		}
		text, _ := msg["text"].(string)
		if text == "" {
			t.Errorf("Slack post has no fallback text: %s", p)
		}
		s := string(p)
		if strings.Contains(s, "Forged") {
			t.Errorf("a forged delivery reached Slack: %s", s)
		}
		if !strings.Contains(s, "Launch countdown skips from 3 to 1") {
			continue
		}
		firstPosts++
		if !strings.Contains(text, "Launch countdown skips from 3 to 1") {
			t.Errorf("fallback text %q lacks the issue title", text)
		}
		for _, want := range []string{"acme/rocket", "https://github.com/acme/rocket/issues/42", "wile"} {
			if !strings.Contains(s, want) {
				t.Errorf("Slack post for the issue lacks %q: %s", want, s)
			}
		}
	}
	if firstPosts != 1 {
		t.Fatalf("the issue was posted %d times, want exactly once:\n%s", firstPosts, joinPosts(posts))
	}

	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stack stopped with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("stack did not stop within 60s of cancellation")
	}
}

// joinPosts joins posted bodies one a line, for failure messages.
func joinPosts(ps [][]byte) string {
	var b strings.Builder
	for _, p := range ps {
		b.Write(p)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestStackStopsWhenAServiceFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := config.NewEnv(envOf(map[string]string{"GITHUB_WEBHOOK_SECRET": "x-secret", "GHNOTIFY_OPS_ADDR": "off"}))
	cfg := stackConfig{
		DataDir:         t.TempDir(),
		NATSListen:      listenOff,
		ShutdownTimeout: 30 * time.Second,
		Gateway:         gateway.ConfigFromEnv(env),
		Normalizer:      normalizer.ConfigFromEnv(env),
		Sink:            sink.ConfigFromEnv(env),
	}
	cfg.Gateway.Addr = busy.Addr().String()
	logs := &syncBuffer{}
	dumpOnFailure(t, "stack log", logs)
	stopped := make(chan error, 1)
	go func() { stopped <- runStack(context.Background(), cfg, zerolog.New(logs)) }()
	select {
	case err := <-stopped:
		if err == nil || !strings.Contains(err.Error(), "running gateway") {
			t.Fatalf("runStack returned %v, want the gateway's failure", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the stack kept running after the gateway failed")
	}
}
