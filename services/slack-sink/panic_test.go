package sink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/deadletter"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
)

// panickyConsole is a console that panics on the events it is told to.
type panickyConsole struct {
	mu      sync.Mutex
	panicOn map[string]any
	lines   []string
}

func (c *panickyConsole) Write(p []byte) (int, error) {
	line := string(p)
	for title, v := range c.panicOn {
		if strings.Contains(line, `"`+title+`"`) {
			panic(v)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
	return len(p), nil
}

func (c *panickyConsole) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// TestPanicWhilePostingDeadLettersThatDestination makes a destination
// panic on some events, in several ways: each of those events is
// dead-lettered for that destination with the panic, its other
// destination still gets it, and every other event is posted.
func TestPanicWhilePostingDeadLettersThatDestination(t *testing.T) {
	ns := natstest.Start(t)
	fake, url := newFakeSlack(t, nil)
	console := &panickyConsole{panicOn: map[string]any{
		"event-2": "console broke",
		"event-4": fmt.Errorf("wrapped: %w", context.Canceled),
		"event-6": []int{1, 2},
	}}
	const n = 7
	for i := 1; i <= n; i++ {
		publish(t, ns.JS, testEvent("p", i), fmt.Sprintf("p%d", i))
	}
	cfg := testConfig(writeRoutes(t, `
destinations:
  screen: {console: true}
  ok:     {webhook: "${SLACK}/ok"}
routes:
  - {name: p, match: {repo: acme/p}, to: [screen, ok]}
`), url)
	cfg.Console = console
	stop := startSink(t, cfg, ns.NC)
	defer stop()

	natstest.WaitFor(t, 20*time.Second, "posts and dead letters", func() bool {
		return len(fake.got("/ok")) >= n && console.count() >= n-3 && dlqCount(t, ns.JS) >= 3
	})
	waitAllAcked(t, ns.JS)
	if got := strings.Join(fake.got("/ok"), " "); got != strings.Join(titles(n), " ") {
		t.Errorf("the other destination got %s", got)
	}
	if c := console.count(); c != n-3 {
		t.Errorf("console printed %d events, want %d", c, n-3)
	}
	dlq, err := ns.JS.Stream(context.Background(), provision.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p-2": "console broke", "p-4": "wrapped: context canceled", "p-6": "[1 2]"}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := dlq.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		reason := m.Header.Get(deadletter.HeaderReason)
		delivery := m.Header.Get("X-GitHub-Delivery")
		if delivery == "" {
			ev, err := event.Unmarshal(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			delivery = ev.Data.DeliveryID
		}
		w, ok := want[delivery]
		if !ok || m.Header.Get(HeaderDestination) != "screen" || !strings.Contains(reason, "panic: "+w) || !strings.Contains(reason, "panickyConsole") {
			t.Errorf("dead letter of %s for %s: reason %q", delivery, m.Header.Get(HeaderDestination), reason)
		}
		delete(want, delivery)
	}
	if len(want) != 0 {
		t.Errorf("no dead letter for %v", want)
	}
}
