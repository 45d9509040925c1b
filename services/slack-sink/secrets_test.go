package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/trace"
)

// TestSlackFailuresKeepSecretsOut drives every kind of Slack failure and
// checks that neither the logs, the dead letters nor the trace records
// show a webhook URL or the bot token, and that a non-retryable ok:false
// from chat.postMessage is dead-lettered after one call.
func TestSlackFailuresKeepSecretsOut(t *testing.T) {
	ns := natstest.Start(t)
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
			_, _ = io.WriteString(w, `{"ok":false,"error":"not_in_channel"}`)
		case strings.HasSuffix(r.URL.Path, "hooksecret-gone"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no_service")
		case strings.HasSuffix(r.URL.Path, "hooksecret-flaky") && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "rollup_error")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	const token = "xoxb-tokensecret"
	routesFile := writeRoutes(t, `
destinations:
  gone:  {webhook: "${SLACK}/services/T0/B0/hooksecret-gone"}
  flaky: {webhook: "${SLACK}/services/T0/B0/hooksecret-flaky"}
  down:  {webhook: "http://127.0.0.1:1/services/T0/B0/hooksecret-down"}
  chan:  {channel: C1}
routes:
  - {name: g, match: {repo: acme/g}, to: gone}
  - {name: f, match: {repo: acme/f}, to: flaky}
  - {name: d, match: {repo: acme/d}, to: down}
  - {name: c, match: {repo: acme/c}, to: chan}
`)
	cfg := testConfig(routesFile, srv.URL)
	cfg.BotToken = token
	cfg.SlackAPIURL = srv.URL + "/api/"
	cfg.PostAttempts, cfg.MaxDeliver = 2, 2
	for _, repo := range []string{"g", "f", "d", "c"} {
		publish(t, ns.JS, testEvent(repo, 1), repo)
	}
	logs, stop := startLoggedSink(t, cfg, ns.NC)
	defer stop()

	dlq, err := ns.JS.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, "three dead letters", func() bool {
		info, err := dlq.Info(context.Background())
		return err == nil && info.State.Msgs >= 3
	})
	store := trace.NewStore(ns.JS)
	var seen strings.Builder
	outcomes := map[string]string{}
	for _, repo := range []string{"g", "f", "d", "c"} {
		delivery := repo + "-1"
		natstest.WaitFor(t, 10*time.Second, "the trace of "+delivery, func() bool {
			recs, err := store.List(context.Background(), delivery)
			return err == nil && len(recs) > 0
		})
		recs, _ := store.List(context.Background(), delivery)
		for _, r := range recs {
			outcomes[r.Destination] = r.Outcome
			fmt.Fprintf(&seen, "%+v\n", r)
		}
	}
	for dest, want := range map[string]string{"gone": trace.OutcomeDeadLettered, "flaky": trace.OutcomePosted, "down": trace.OutcomeDeadLettered, "chan": trace.OutcomeDeadLettered} {
		if outcomes[dest] != want {
			t.Errorf("%s: outcome %q, want %q\n%s", dest, outcomes[dest], want, seen.String())
		}
	}
	reasons := map[string]string{}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := dlq.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&seen, "%s %v %s\n", m.Subject, m.Header, m.Data)
		reasons[m.Header.Get(HeaderDestination)] = m.Header.Get("Ghnotify-Dlq-Reason")
	}
	if !strings.Contains(reasons["chan"], "not_in_channel") || !strings.Contains(reasons["gone"], "no_service") {
		t.Errorf("dead letter reasons %q", reasons)
	}
	mu.Lock()
	if n := calls["/api/chat.postMessage"]; n != 1 {
		t.Errorf("chat.postMessage called %d times for a permanent error, want 1", n)
	}
	mu.Unlock()
	all := logs.String() + seen.String()
	for _, secret := range []string{"hooksecret", token, "/services/T0"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in the logs, dead letters or traces:\n%s", secret, all)
		}
	}
	if !strings.Contains(logs.String(), "rollup_error") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the log does not show Slack's failures:\n%s", logs)
	}
}
