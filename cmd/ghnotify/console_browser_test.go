//go:build browser

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/chromium"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

// screenshotDir is where the screenshots go: GHNOTIFY_SCREENSHOTS (make
// screenshots sets docs/console), else a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("GHNOTIFY_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestConsoleInABrowser drives the console in headless Chromium against
// the whole stack in process: a delivery appears live on the deliveries
// page, its timeline opens, the inbox shows the message as Slack would
// (live), the routes tester routes a stored delivery, and a dead letter
// is redriven after confirmation. Each page is saved as a PNG.
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium.Path()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium found, but CI is set: `make chromium` (as root) should have installed Debian's chromium package")
		}
		t.Skip("SKIPPED: no chromium found (install it with `make chromium` as root, or set CHROMIUM); the browser test did not run")
	}
	s := startConsoleStack(t)
	shots := screenshotDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in containers
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	// The first call starts the browser, and must not have a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			// Show where the browser stood.
			dctx, dcancel := context.WithTimeout(bctx, 10*time.Second)
			defer dcancel()
			loc, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href`))
			body, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return v
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}

	// The deliveries page, live: a delivery sent after it loaded appears
	// without a reload.
	do("opening the deliveries page", chromedp.Navigate(s.ops+"/console/deliveries"), visible(`#live.on`))
	eval(`(window.__notReloaded = true)`)
	const id = "browser-delivery-1"
	if code := postDelivery(t, s.gateway, s.secret, "issues", id, issuePayload(42, "Launch countdown skips from 3 to 1")); code/100 != 2 {
		t.Fatalf("gateway answered %d", code)
	}
	if code := postDelivery(t, s.gateway, s.secret, "ping", "browser-ping-1", []byte(`{"zen":"Design for failure.","hook_id":1}`)); code/100 != 2 {
		t.Fatalf("gateway answered %d to the ping", code)
	}
	do("seeing the delivery appear live",
		visible(`tr[data-id="`+id+`"]`),
		until(`(() => { const r = document.querySelector('tr[data-id="`+id+`"]'); return r && r.textContent.includes("dead-lettered alerts") && r.textContent.includes("posted console"); })()`),
		visible(`tr[data-id="browser-ping-1"]`),
	)
	if !eval(`window.__notReloaded === true`) {
		t.Fatal("the deliveries page reloaded instead of updating live")
	}
	do("screenshot of the deliveries", shot("deliveries"))

	// The delivery's timeline, its message and its payload.
	do("opening the delivery",
		click(`tr[data-id="`+id+`"] a`),
		visible(`.timeline`),
		visible(`.slack .bk-header`),
		click(`details.json summary`),
	)
	timeline := text(`.timeline`)
	for _, want := range []string{"stored raw #", "normalized", "posted issues.opened to console", "dead-lettered issues.opened for alerts"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	do("screenshot of the delivery", shot("delivery"))

	// The inbox, live: a new delivery's message appears on top.
	do("opening the inbox", chromedp.Navigate(s.ops+"/console/inbox"), visible(`#live-inbox.on`))
	if code := postDelivery(t, s.gateway, s.secret, "pull_request", "browser-delivery-2", pullRequestPayload()); code/100 != 2 {
		t.Fatalf("gateway answered %d", code)
	}
	do("seeing the message arrive live",
		until(`document.querySelector('#messages .inbox-msg') !== null && document.querySelector('#messages .inbox-msg').textContent.includes("pull_request.opened")`),
		shot("inbox"),
	)
	if first := text(`#messages .inbox-msg`); !strings.Contains(first, "Pull request opened by @roadrunner") || !strings.Contains(first, "Teach the countdown to count") {
		t.Errorf("the newest inbox message is %q", first)
	}

	// The routes tester, on the stored delivery.
	do("testing the routes",
		chromedp.Navigate(s.ops+"/console/routes"),
		visible(`#pick`),
		chromedp.SetValue(chromedp.CSS(`#pick`), id),
		click(`#test`),
		visible(`.report .slack`),
		shot("routes"),
	)
	if result := text(`.report`); !strings.Contains(result, "yes, to [console alerts]") {
		t.Errorf("routes tester result:\n%s", result)
	}

	// The dead letter: fix the destination, redrive after confirmation.
	s.alerts.setBroken(false)
	do("redriving the dead letter",
		chromedp.Navigate(s.ops+"/console/dead-letters"),
		visible(`tr[data-seq] button`),
		shot("dead-letters"),
		click(`tr[data-seq] button`),
		visible(`#confirm`),
		shot("redrive-confirm"),
		click(`#confirm`),
		visible(`.flash`),
	)
	natstest.WaitFor(t, 30*time.Second, "the redriven post to alerts", func() bool { return s.alerts.count() == 1 })
	do("seeing the redrive in the timeline",
		chromedp.Navigate(s.ops+"/console/deliveries/"+id),
		until(`document.querySelector('.timeline').textContent.includes("posted issues.opened to alerts")`),
	)
	if n := s.alerts.count(); n != 1 {
		t.Fatalf("alerts got %d posts, want 1", n)
	}
	t.Logf("screenshots in %s", shots)
}

// pullRequestPayload is a pull request opened, our own fixture.
func pullRequestPayload() []byte {
	return []byte(`{"action":"opened","number":7,"pull_request":{"id":7007,"number":7,"title":"Teach the countdown to count","state":"open","draft":false,"merged":false,
"html_url":"https://github.com/acme/rocket/pull/7","body":"Fixes #42.\n\nCounts ` + "`3, 2, 1`" + ` now.","user":{"login":"roadrunner","id":502,"type":"User"},
"head":{"ref":"fix-countdown","sha":"0123456789abcdef0123456789abcdef01234567"},"base":{"ref":"main","sha":"89abcdef0123456789abcdef0123456789abcdef"},"labels":[{"name":"bug"}],
"additions":12,"deletions":3,"changed_files":2,"commits":1},
"repository":{"id":1001,"name":"rocket","full_name":"acme/rocket","private":false,"html_url":"https://github.com/acme/rocket","default_branch":"main","owner":{"login":"acme","id":101,"type":"Organization"}},
"sender":{"login":"roadrunner","id":502,"type":"User"}}`)
}
