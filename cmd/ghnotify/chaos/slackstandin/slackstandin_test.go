package slackstandin

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Retry-After")
}

func TestAnswersAndRecords(t *testing.T) {
	s := Start()
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q is not on 127.0.0.1", s.URL())
	}
	s.RateLimit(2, 1500*time.Millisecond)
	s.Unavailable(1)
	if n := s.BurstsPending(); n != 3 {
		t.Fatalf("BurstsPending = %d, want 3", n)
	}
	want := []struct {
		status     int
		body       string
		retryAfter string
	}{
		{429, "rate_limited", "2"},
		{429, "rate_limited", "2"},
		{503, "service_unavailable", ""},
		{200, "ok", ""},
		{200, "ok", ""},
	}
	for i, w := range want {
		code, body, ra := post(t, s.URL(), `{"text":"m`+string(rune('0'+i))+`"}`)
		if code != w.status || body != w.body || ra != w.retryAfter {
			t.Errorf("request %d answered %d %q Retry-After %q, want %d %q %q", i, code, body, ra, w.status, w.body, w.retryAfter)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(want) {
		t.Fatalf("recorded %d requests, want %d", len(reqs), len(want))
	}
	for i, r := range reqs {
		if r.Seq != i+1 || r.Status != want[i].status || string(r.Body) != `{"text":"m`+string(rune('0'+i))+`"}` {
			t.Errorf("request %d recorded as %+v", i, r)
		}
		if r.Posted() != (want[i].status == 200) {
			t.Errorf("request %d Posted() = %v", i, r.Posted())
		}
	}
	if n := s.BurstsPending(); n != 0 {
		t.Fatalf("BurstsPending = %d after the bursts, want 0", n)
	}
}

func TestRefusesNonPost(t *testing.T) {
	s := Start()
	defer s.Close()
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET answered %d, want 400", resp.StatusCode)
	}
	if r := s.Requests(); len(r) != 0 {
		t.Fatalf("a GET was recorded: %+v", r)
	}
}

func TestOutage(t *testing.T) {
	s := Start()
	defer s.Close()
	s.Unavailable(1)
	s.SetDown(true)
	for i := range 3 {
		if code, body, _ := post(t, s.URL(), "{}"); code != 503 || body != "service_unavailable" {
			t.Fatalf("request %d during the outage answered %d %q, want 503", i, code, body)
		}
	}
	if n := s.BurstsPending(); n != 1 {
		t.Fatalf("the outage used the queued burst: %d left, want 1", n)
	}
	s.SetDown(false)
	want := []int{503, 200}
	for i, w := range want {
		if code, _, _ := post(t, s.URL(), "{}"); code != w {
			t.Fatalf("request %d after the outage answered %d, want %d", i, code, w)
		}
	}
}
