package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliRoutes = `destinations:
  console: {console: true}
routes:
  - name: no-bots
    drop: true
    match: {bot: true}
  - name: issues
    match: {kind: "issues.*"}
    to: console
`

func TestRoutesCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runRoutes(context.Background(), []string{"check", writeFile(t, "ok.yaml", cliRoutes)}, &out, &errOut); err != nil {
		t.Fatalf("check of a valid file: %v", err)
	}
	if !strings.Contains(out.String(), "ok (1 destinations, 2 routes)") {
		t.Errorf("output %q", out.String())
	}
	bad := writeFile(t, "bad.yaml", "destinations:\n  console: {console: true}\nroutes:\n  - {name: r, to: nowhere}\n")
	err := runRoutes(context.Background(), []string{"check", bad}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4:") || !strings.Contains(err.Error(), `"nowhere" is not defined`) {
		t.Errorf("check of an invalid file: %v", err)
	}
}

func TestRoutesTest(t *testing.T) {
	payload := `{"action":"opened","issue":{"number":3,"title":"<!channel> broken","html_url":"https://github.com/acme/w/issues/3","user":{"login":"mona"},"labels":[]},
"repository":{"name":"w","full_name":"acme/w","owner":{"login":"acme"},"html_url":"https://github.com/acme/w"},"sender":{"login":"mona","type":"User"}}`
	var out, errOut bytes.Buffer
	args := []string{"test", "--routes", writeFile(t, "r.yaml", cliRoutes), "--event", "issues", writeFile(t, "p.json", payload)}
	if err := runRoutes(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("routes test: %v (%s)", err, errOut.String())
	}
	var reports []routeTestReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(reports) != 1 || reports[0].Kind != "issues.opened" {
		t.Fatalf("reports = %+v", reports)
	}
	r := reports[0]
	if len(r.Routes) != 2 || r.Routes[0].Matched || !strings.Contains(r.Routes[0].Why, "bot") || !r.Routes[1].Matched {
		t.Errorf("explanations = %+v", r.Routes)
	}
	if len(r.Targets) != 1 || r.Targets[0].Destination != "console" {
		t.Errorf("targets = %+v", r.Targets)
	}
	if msg := string(r.Messages["console"]); !strings.Contains(msg, "&lt;!channel&gt;") || strings.Contains(msg, "<!channel>") {
		t.Errorf("message not escaped: %s", msg)
	}
}
