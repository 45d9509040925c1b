package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// warmingGateway answers /readyz 503 for its first notReady calls, then
// 200, and accepts deliveries only once it is ready.
type warmingGateway struct {
	mu        sync.Mutex
	notReady  int
	readyHits int
	early     int
	posts     int
}

func (g *warmingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ready := g.readyHits >= g.notReady
	switch r.URL.Path {
	case "/readyz":
		g.readyHits++
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	case defaultGatewayPath:
		if !ready {
			g.early++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		g.posts++
		w.WriteHeader(http.StatusAccepted)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestSendWaitsForTheGateway(t *testing.T) {
	payload := writeFile(t, "issues-opened.json", `{"action":"opened"}`)
	env := envOf(map[string]string{"GITHUB_WEBHOOK_SECRET": "s3cret-for-wait"})

	gw := &warmingGateway{notReady: 3}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"send", "--wait", "--url", srv.URL + defaultGatewayPath, payload}, &out, &errOut, env); err != nil {
		t.Fatalf("send --wait: %v\n%s%s", err, out.String(), errOut.String())
	}
	gw.mu.Lock()
	if gw.posts != 1 || gw.early != 0 || gw.readyHits != 4 {
		t.Errorf("posts %d, early posts %d, /readyz calls %d; want 1, 0, 4", gw.posts, gw.early, gw.readyHits)
	}
	gw.mu.Unlock()
	if !strings.Contains(errOut.String(), "waiting up to 30s") {
		t.Errorf("no waiting line on stderr: %q", errOut.String())
	}

	// A gateway that never gets ready: the wait ends with an error and
	// nothing is posted.
	never := &warmingGateway{notReady: 1 << 30}
	srv2 := httptest.NewServer(never)
	defer srv2.Close()
	err := run(context.Background(), []string{"send", "--wait=300ms", "--url", srv2.URL + defaultGatewayPath, payload}, &out, &errOut, env)
	if err == nil || !strings.Contains(err.Error(), "was not ready within 300ms") {
		t.Fatalf("send --wait=300ms against a gateway never ready: %v", err)
	}
	never.mu.Lock()
	defer never.mu.Unlock()
	if never.posts != 0 || never.early != 0 {
		t.Errorf("a delivery was posted to a gateway that was not ready")
	}
}
