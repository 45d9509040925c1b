package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const quietCLIRoutes = `
destinations:
  team:
    console: true
    quiet: {from: "19:00", to: "08:00", tz: Europe/Berlin}
  feed: {console: true}
routes:
  - name: digest
    match: {kind: issues.opened}
    to: feed
    digest: {every: 24h, at: "09:00", tz: Europe/Berlin}
    continue: true
  - name: team
    to: team
`

func TestRoutesTestShowsHeldAndDigested(t *testing.T) {
	payload := `{"action":"opened","issue":{"number":3,"title":"broken","html_url":"https://github.com/acme/w/issues/3","user":{"login":"mona"},"labels":[]},
"repository":{"name":"w","full_name":"acme/w","owner":{"login":"acme"},"html_url":"https://github.com/acme/w"},"sender":{"login":"mona","type":"User"}}`
	routesFile, payloadFile := writeFile(t, "r.yaml", quietCLIRoutes), writeFile(t, "p.json", payload)
	tests := []struct {
		at   string
		want map[string]string
	}{
		{"2026-12-01T21:00:00Z", map[string]string{
			"team": "held until 2026-12-02T07:00:00Z (quiet hours of team)",
			"feed": "collected into digest of route digest for feed (period 2026-12-01T08:00:00Z to 2026-12-02T08:00:00Z), posted at 2026-12-02T08:00:00Z",
		}},
		{"2026-12-01T12:00:00Z", map[string]string{"team": "posted now"}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		args := []string{"routes", "test", "--routes", routesFile, "--event", "issues", "--at", tt.at, payloadFile}
		if err := run(context.Background(), args, &out, &errOut, envOf(nil)); err != nil {
			t.Fatalf("routes test: %v (%s)", err, errOut.String())
		}
		var reports []routeTestReport
		if err := json.Unmarshal(out.Bytes(), &reports); err != nil || len(reports) != 1 {
			t.Fatalf("output: %v\n%s", err, out.String())
		}
		got := map[string]string{}
		for _, tg := range reports[0].Targets {
			got[tg.Destination] = tg.When
		}
		for dest, want := range tt.want {
			if got[dest] != want {
				t.Errorf("at %s, %s: %q, want %q", tt.at, dest, got[dest], want)
			}
		}
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"routes", "test", "--routes", routesFile, "--event", "issues", "--at", "tonight", payloadFile}, &out, &errOut, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("a bad --at: %v", err)
	}
}
