package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/normalizer"
	sink "github.com/ghnotify/ghnotify/services/slack-sink"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/disktest"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/rs/zerolog"
)

// readyz returns the status and body of GET /readyz.
func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestDiskFullNotReadyThenStoresAgain runs the whole stack with its data
// directory on a small tmpfs, fills the disk until the gateway cannot store
// a delivery, checks that /readyz says so, frees the space, and waits for
// the stack to be ready and to store deliveries again without a restart.
func TestDiskFullNotReadyThenStoresAgain(t *testing.T) {
	// The only in-process stack that runs beside other tests (the
	// binary tests, which run processes of their own): two in-process
	// stacks would share the default metrics registry.
	t.Parallel()
	dir := disktest.Mount(t, "32m")
	slack := &fakeSlack{}
	slackSrv := httptest.NewServer(slack)
	defer slackSrv.Close()
	const secret = "disk-full-secret"
	env := config.NewEnv(envOf(map[string]string{
		"GITHUB_WEBHOOK_SECRET":    secret,
		"SLACK_WEBHOOK_URL":        slackSrv.URL + "/services/T000/B000/XXXX",
		"GHNOTIFY_PUBLISH_TIMEOUT": "2s",
		// No operations endpoints: their default ports may be taken.
		"GHNOTIFY_OPS_ADDR": "off",
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stackConfig{
		DataDir:         dir,
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
	logs := &syncBuffer{}
	dumpOnFailure(t, "stack log", logs)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- runStack(ctx, cfg, zerolog.New(logs)) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-stopped:
			return err
		case <-time.After(60 * time.Second):
			return errors.New("stack did not stop within 60s of cancellation")
		}
	})
	// Registered after the mount, so it runs first: the stack lets go of
	// the tmpfs before it is unmounted, whether the test passed or not.
	t.Cleanup(func() { _ = stop() })
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base, 30*time.Second)
	natstest.WaitFor(t, 30*time.Second, "/readyz to answer 200", func() bool { code, _ := readyz(t, base); return code == http.StatusOK })

	title := strings.Repeat("x", 64<<10)
	filler := disktest.Fill(t, dir, 1<<20)
	n := 0
	for ; ; n++ {
		if n > 200 {
			t.Fatal("200 deliveries of 64 KiB stored with 1 MiB free")
		}
		code := postDelivery(t, base, secret, "issues", "full-"+strconv.Itoa(n), issuePayload(n, title))
		if code == http.StatusServiceUnavailable {
			break
		}
		if code != http.StatusAccepted {
			t.Fatalf("delivery %d answered %d", n, code)
		}
	}
	t.Logf("%d deliveries stored before the disk was full", n)
	if code, body := readyz(t, base); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d %s while deliveries cannot be stored", code, body)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 30*time.Second, "/readyz 200 and a delivery stored after space returned", func() bool {
		if code, _ := readyz(t, base); code != http.StatusOK {
			return false
		}
		return postDelivery(t, base, secret, "issues", "after-"+strconv.Itoa(n), issuePayload(n, "Stored after the disk was freed")) == http.StatusAccepted
	})
	// The consumers carry on after JetStream restarted: every delivery
	// answered 202, before the disk filled and after, reaches Slack.
	issueURL := regexp.MustCompile(`https://github\.com/acme/rocket/issues/(\d+)`)
	natstest.WaitFor(t, 120*time.Second, "every stored delivery to reach Slack", func() bool {
		posted := map[string]bool{}
		after := false
		for _, p := range slack.Posts() {
			for _, m := range issueURL.FindAllStringSubmatch(string(p), -1) {
				posted[m[1]] = true
			}
			after = after || strings.Contains(string(p), "Stored after the disk was freed")
		}
		for i := range n {
			if !posted[strconv.Itoa(i)] {
				return false
			}
		}
		return after
	})
	if err := stop(); err != nil {
		t.Fatalf("stopping the stack: %v", err)
	}
}
