package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

// fakeGitHub serves a hook's deliveries in two pages and records the
// redeliveries asked for; any other request fails the test.
type fakeGitHub struct {
	t      *testing.T
	prefix string // /repos/acme/rocket/hooks/77 or /orgs/acme/hooks/77
	pages  [][]map[string]any
	mu     sync.Mutex
	posted []string
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer gh-test-token" {
		g.t.Errorf("%s %s: Authorization %q, want the token", r.Method, r.URL.Path, got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == g.prefix+"/deliveries":
		page := 0
		if r.URL.Query().Get("cursor") == "p2" {
			page = 1
		}
		if page == 0 {
			next := fmt.Sprintf("http://%s%s/deliveries?cursor=p2&per_page=100", r.Host, g.prefix)
			w.Header().Set("Link", "<"+next+`>; rel="next"`)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.pages[page])
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, g.prefix+"/deliveries/") && strings.HasSuffix(r.URL.Path, "/attempts"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, g.prefix+"/deliveries/"), "/attempts")
		g.mu.Lock()
		g.posted = append(g.posted, id)
		g.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("{}"))
	default:
		g.t.Errorf("unexpected request %s %s", r.Method, r.URL.String())
		w.WriteHeader(http.StatusNotFound)
	}
}

func hookDelivery(id int, guid string, ago time.Duration, code int) map[string]any {
	status := "OK"
	if code != 200 {
		status = "failed"
	}
	return map[string]any{"id": id, "guid": guid, "delivered_at": time.Now().Add(-ago).UTC().Format(time.RFC3339), "status_code": code, "status": status, "event": "issues", "action": "opened", "redelivery": false}
}

func TestRecoverRedeliversExactlyTheFailedDeliveries(t *testing.T) {
	ns := natstest.Start(t)
	// g4 failed on GitHub's side but is stored (GitHub gave up waiting).
	d := delivery.Delivery{Event: "issues", ID: "g4", Body: []byte(`{}`), ReceivedAt: time.Now()}
	if _, err := ns.JS.PublishMsg(context.Background(), d.Msg()); err != nil {
		t.Fatal(err)
	}
	pages := [][]map[string]any{
		{
			hookDelivery(12, "g1", 50*time.Minute, 200), // redelivered by hand, fine now
			hookDelivery(11, "g1", time.Hour, 500),
			hookDelivery(21, "g2", 2*time.Hour, 0), // timed out
		},
		{
			hookDelivery(32, "g3", 150*time.Minute, 503), // failed twice: the latest attempt is redelivered
			hookDelivery(31, "g3", 3*time.Hour, 502),
			hookDelivery(41, "g4", 4*time.Hour, 504),
			hookDelivery(51, "g5", 5*time.Hour, 202),
			hookDelivery(61, "g6", 30*time.Hour, 500), // older than --since
		},
	}
	for _, tt := range []struct {
		name, prefix string
		args         []string
		dryRun       bool
	}{
		{name: "repository hook", prefix: "/repos/acme/rocket/hooks/77", args: []string{"--repo", "acme/rocket"}},
		{name: "organization hook", prefix: "/orgs/acme/hooks/77", args: []string{"--org", "acme"}},
		{name: "dry run", prefix: "/repos/acme/rocket/hooks/77", args: []string{"--repo", "acme/rocket"}, dryRun: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := &fakeGitHub{t: t, prefix: tt.prefix, pages: pages}
			srv := httptest.NewServer(gh)
			defer srv.Close()
			args := append([]string{"recover", "--since", "24h", "--hook-id", "77", "--api-url", srv.URL + "/"}, tt.args...)
			if tt.dryRun {
				args = append(args, "--dry-run")
			}
			var out, errOut bytes.Buffer
			env := envOf(map[string]string{"NATS_URL": ns.Srv.ClientURL(), "GITHUB_TOKEN": "gh-test-token"})
			if err := run(context.Background(), args, &out, &errOut, env); err != nil {
				t.Fatalf("recover: %v\n%s%s", err, out.String(), errOut.String())
			}
			want := []string{"32", "21"}
			if tt.dryRun {
				want = nil
				if !strings.Contains(out.String(), "2 deliveries would be redelivered") {
					t.Errorf("dry run said:\n%s", out.String())
				}
			}
			gh.mu.Lock()
			got := slices.Clone(gh.posted)
			gh.mu.Unlock()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("redelivered attempts %v, want %v\n%s", got, want, out.String())
			}
			if !strings.Contains(out.String(), "g4") || !strings.Contains(out.String(), "already stored") {
				t.Errorf("output does not say g4 is already stored:\n%s", out.String())
			}
			if strings.Contains(out.String()+errOut.String(), "gh-test-token") {
				t.Error("the token appeared in the output")
			}
		})
	}
}

func TestRecoverUsage(t *testing.T) {
	for _, args := range [][]string{
		{"recover", "--hook-id", "1"},
		{"recover", "--repo", "acme/rocket", "--org", "acme", "--hook-id", "1"},
		{"recover", "--repo", "acme", "--hook-id", "1"},
		{"recover", "--repo", "acme/rocket"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), args, &out, &out, envOf(map[string]string{"GITHUB_TOKEN": "x"}))
		if exitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"recover", "--repo", "acme/rocket", "--hook-id", "1"}, &out, &out, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("without a token: %v", err)
	}
}
