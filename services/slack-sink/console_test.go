package sink

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
)

// TestStandaloneConsoleTestsAPastedPayload: the console of a standalone
// sink (on its operations address) takes a pasted payload in its routes
// tester, as `ghnotify run`'s does, and says which route it matches.
func TestStandaloneConsoleTestsAPastedPayload(t *testing.T) {
	ns := natstest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(writeRoutes(t, "destinations:\n  feed: {console: true}\nroutes:\n  - {name: opened issues, match: {kind: issues.opened}, to: feed}\n"), "http://127.0.0.1:1")
	cfg.Ops.Listener = ln
	stop := startSink(t, cfg, ns.NC)
	defer stop()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := "http://" + ln.Addr().String() + "/console/routes"
	var page string
	natstest.WaitFor(t, 10*time.Second, "the console's routes page", func() bool {
		resp, err := c.Get(base)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == http.StatusOK && strings.Contains(page, "opened issues")
	})
	if !strings.Contains(page, `id="payload"`) {
		t.Fatalf("the standalone sink's tester takes no pasted payload:\n%s", page)
	}
	_, rest, _ := strings.Cut(page, `name="csrf" value="`)
	tok, _, _ := strings.Cut(rest, `"`)
	payload := `{"action":"opened","issue":{"number":3,"title":"Countdown stalls","html_url":"https://github.com/acme/rocket/issues/3","user":{"login":"wile"}},` +
		`"repository":{"name":"rocket","full_name":"acme/rocket","html_url":"https://github.com/acme/rocket","owner":{"login":"acme"}},"sender":{"login":"wile"}}`
	resp, err := c.PostForm(base+"/test", url.Values{"csrf": {tok}, "event": {"issues"}, "payload": {payload}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "issues.opened") || !strings.Contains(string(b), "opened issues") || !strings.Contains(string(b), "Countdown stalls") {
		t.Fatalf("tester answered %d:\n%s", resp.StatusCode, b)
	}
}
