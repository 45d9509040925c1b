package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

type postedMessage struct {
	Channel        string `json:"channel"`
	Text           string `json:"text"`
	ThreadTS       string `json:"thread_ts"`
	ReplyBroadcast bool   `json:"reply_broadcast"`
	Auth           string `json:"-"`
}

func TestThreadsFollowTheOpeningMessage(t *testing.T) {
	ns := natstest.Start(t)
	var mu sync.Mutex
	var posts []postedMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m postedMessage
		_ = json.Unmarshal(b, &m)
		m.Auth = r.Header.Get("Authorization")
		mu.Lock()
		posts = append(posts, m)
		ts := fmt.Sprintf("1700000000.%06d", len(posts))
		mu.Unlock()
		_, _ = fmt.Fprintf(w, `{"ok":true,"ts":%q}`, ts)
	}))
	defer srv.Close()
	routesFile := writeRoutes(t, `
destinations:
  reviews: {channel: C42}
routes:
  - name: prs
    match: {kind: "pull_request.*"}
    to: reviews
    thread: true
    broadcast_final: true
`)
	cfg := testConfig(routesFile, "")
	cfg.SlackAPIURL = srv.URL + "/api/"
	cfg.BotToken = "xoxb-test"
	for i, kind := range []string{"pull_request.opened", "pull_request.review_requested", "pull_request.merged"} {
		e := testEvent("w", 5)
		e.ID = event.ID("pr5-"+kind, kind)
		e.Data.Kind, e.Data.Event = kind, "pull_request"
		e.Data.DeliveryID = fmt.Sprintf("pr5-%d", i)
		publish(t, ns.JS, e, e.ID)
	}
	stop := startSink(t, cfg, ns.NC)
	defer stop()
	natstest.WaitFor(t, 10*time.Second, "three posts", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(posts) >= 3
	})
	mu.Lock()
	defer mu.Unlock()
	if posts[0].ThreadTS != "" || posts[0].Channel != "C42" || posts[0].Auth != "Bearer xoxb-test" {
		t.Errorf("opening post = %+v", posts[0])
	}
	first := "1700000000.000001"
	if posts[1].ThreadTS != first || posts[1].ReplyBroadcast {
		t.Errorf("review request = %+v, want a plain reply in %s", posts[1], first)
	}
	if posts[2].ThreadTS != first || !posts[2].ReplyBroadcast {
		t.Errorf("merge = %+v, want a broadcast reply in %s", posts[2], first)
	}
}
