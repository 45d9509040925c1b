// Package sink is ghnotify's sink (the slack-sink service): it consumes
// canonical events from the GHNOTIFY_EVENTS stream, routes each through
// the routes file, and delivers it to every destination it matched, at
// most once per destination, through one rate-limited queue per
// destination. This package wires it up: configuration, JetStream, the
// destination types (DestinationTypes), routes reloads and shutdown; the
// delivery engine is package deliver, the destination types are the
// adapters slack and signedhttp.
package sink

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/services/slack-sink/webconsole"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/consume"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the Slack sink's configuration.
type Config struct {
	// RoutesFile is the routes file (GHNOTIFY_ROUTES); empty means the
	// default routes (see Run).
	RoutesFile string
	// WebhookURL is the incoming webhook of the default route (SLACK_WEBHOOK_URL).
	WebhookURL config.Secret
	// BotToken is the token of channel destinations that name none (SLACK_BOT_TOKEN).
	BotToken config.Secret
	// SlackAPIURL is Slack's Web API base (SLACK_API_URL).
	SlackAPIURL string
	// Console receives console notifications when there is neither a
	// routes file nor a webhook URL.
	Console io.Writer
	// Provision sizes the streams and buckets.
	Provision provision.Config
	// HTTPTimeout bounds one request to Slack (SLACK_HTTP_TIMEOUT).
	HTTPTimeout time.Duration
	// RatePerMinute and Burst are the default rate limit of a destination
	// (GHNOTIFY_SLACK_RATE_PER_MINUTE, GHNOTIFY_SLACK_BURST).
	RatePerMinute int
	Burst         int
	// MaxInFlight bounds the events being posted at once (GHNOTIFY_SINK_MAX_IN_FLIGHT).
	MaxInFlight int
	// PostAttempts is how often a destination is tried for one event
	// when it fails (5xx, timeouts, network errors; 429s do not count)
	// before it is considered down for a while and its events are handed
	// back to JetStream (GHNOTIFY_SINK_POST_ATTEMPTS).
	PostAttempts int
	// MaxDeliver is how many deliveries an event gets: after that many an
	// event still failing is dead-lettered (GHNOTIFY_SINK_MAX_DELIVER). The
	// sink counts them; the consumer has no MaxDeliver of its own.
	MaxDeliver int
	// MaxHold is how long an event may wait untried behind a destination
	// that is down (or an earlier event handed back) before it is
	// dead-lettered (GHNOTIFY_SINK_MAX_HOLD); such waits do not use up
	// MaxDeliver. It must stay below the events stream's MaxAge.
	MaxHold time.Duration
	// AckWait is the consumer's AckWait (GHNOTIFY_SINK_ACK_WAIT); in-flight
	// events are kept alive with InProgress meanwhile.
	AckWait time.Duration
	// ShutdownTimeout bounds finishing in-flight posts on shutdown
	// (GHNOTIFY_SINK_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// Registerer receives the sink's metrics; nil means prometheus.DefaultRegisterer.
	Registerer prometheus.Registerer
	// Lookup resolves ${NAME} in the routes file. ConfigFromEnv sets it to
	// the Env's own lookup; nil resolves no variable.
	Lookup config.Lookup
	// Sleep waits between tries and for Retry-After; nil means a timer.
	// Tests shorten it or drive a fake clock with it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of Retry-After pauses and down periods; nil means
	// time.Now.
	Now func() time.Time
	// Backoff is the wait before the given retry of a failing destination
	// and the length of its given down period in a row; nil means a capped
	// exponential backoff with jitter (0.5 s, 1 s, 2 s ... 30 s).
	Backoff func(attempt int) time.Duration
	// WatchRoutes reloads the routes file when it changes on disk (in
	// addition to SIGHUP) (GHNOTIFY_ROUTES_WATCH).
	WatchRoutes bool
	// Inbox, when set, keeps what console destinations post, for the web
	// console's inbox. Run sets one when it serves the console.
	Inbox *slack.Inbox
	// WebConsole says whether the web console is served on the operations
	// address (GHNOTIFY_CONSOLE, GHNOTIFY_CONSOLE_TOKEN).
	WebConsole webconsole.Config
	// OnRoutes, when set, is called with the routing table at start and
	// after every reload (the web console shows the routes in force).
	OnRoutes func(*routes.Table)
	// Ops is where /metrics, /healthz and /readyz are served
	// (GHNOTIFY_OPS_ADDR, GHNOTIFY_PPROF); the zero value serves none, as
	// in `ghnotify run`, which serves one /metrics for the whole process.
	Ops ops.Config
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		SlackAPIURL:     "https://slack.com/api/",
		Provision:       provision.Defaults(),
		HTTPTimeout:     10 * time.Second,
		RatePerMinute:   60,
		Burst:           3,
		MaxInFlight:     32,
		PostAttempts:    5,
		MaxDeliver:      20,
		MaxHold:         24 * time.Hour,
		AckWait:         time.Minute,
		ShutdownTimeout: 20 * time.Second,
		WatchRoutes:     true,
	}
}

// ConfigFromEnv reads the sink's configuration. Console is left nil: the
// caller sets it (main uses os.Stdout).
func ConfigFromEnv(e *config.Env) Config {
	d := Defaults()
	c := Config{
		RoutesFile:      e.String("GHNOTIFY_ROUTES", ""),
		WebhookURL:      e.Secret("SLACK_WEBHOOK_URL", ""),
		BotToken:        e.Secret("SLACK_BOT_TOKEN", ""),
		SlackAPIURL:     e.String("SLACK_API_URL", d.SlackAPIURL),
		Provision:       provision.FromEnv(e),
		HTTPTimeout:     e.Duration("SLACK_HTTP_TIMEOUT", d.HTTPTimeout),
		RatePerMinute:   e.Int("GHNOTIFY_SLACK_RATE_PER_MINUTE", d.RatePerMinute),
		Burst:           e.Int("GHNOTIFY_SLACK_BURST", d.Burst),
		MaxInFlight:     e.Int("GHNOTIFY_SINK_MAX_IN_FLIGHT", d.MaxInFlight),
		PostAttempts:    e.Int("GHNOTIFY_SINK_POST_ATTEMPTS", d.PostAttempts),
		MaxDeliver:      e.Int("GHNOTIFY_SINK_MAX_DELIVER", d.MaxDeliver),
		MaxHold:         e.Duration("GHNOTIFY_SINK_MAX_HOLD", d.MaxHold),
		AckWait:         e.Duration("GHNOTIFY_SINK_ACK_WAIT", d.AckWait),
		ShutdownTimeout: e.Duration("GHNOTIFY_SINK_SHUTDOWN_TIMEOUT", d.ShutdownTimeout),
		WatchRoutes:     e.Bool("GHNOTIFY_ROUTES_WATCH", d.WatchRoutes),
		Ops:             ops.FromEnv(e, ops.DefaultSinkAddr),
		Lookup:          envLookup(e),
	}
	c.WebConsole = webconsole.FromEnv(e, c.Ops.Addr)
	for name, v := range map[string]int{"GHNOTIFY_SLACK_RATE_PER_MINUTE": c.RatePerMinute, "GHNOTIFY_SLACK_BURST": c.Burst, "GHNOTIFY_SINK_MAX_IN_FLIGHT": c.MaxInFlight, "GHNOTIFY_SINK_POST_ATTEMPTS": c.PostAttempts, "GHNOTIFY_SINK_MAX_DELIVER": c.MaxDeliver} {
		if v < 1 {
			e.Fail(fmt.Errorf("%s must be at least 1", name))
		}
	}
	return c
}

// envLookup resolves ${NAME} in the routes file through e, so the routes
// file sees the same environment as the rest of the configuration. An
// empty value counts as unset.
func envLookup(e *config.Env) config.Lookup {
	return func(name string) (string, bool) {
		v := e.String(name, "")
		return v, v != ""
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.SlackAPIURL == "" {
		c.SlackAPIURL = d.SlackAPIURL
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = d.HTTPTimeout
	}
	if c.RatePerMinute <= 0 {
		c.RatePerMinute = d.RatePerMinute
	}
	if c.Burst <= 0 {
		c.Burst = d.Burst
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = d.MaxInFlight
	}
	if c.PostAttempts <= 0 {
		c.PostAttempts = d.PostAttempts
	}
	if c.MaxHold <= 0 {
		c.MaxHold = d.MaxHold
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = d.MaxDeliver
	}
	if c.AckWait <= 0 {
		c.AckWait = d.AckWait
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.Console == nil {
		c.Console = io.Discard
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.DefaultRegisterer
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Backoff == nil {
		c.Backoff = backoff
	}
	return c
}

// backoff is a capped exponential delay with jitter for retries within
// one delivery: 0.5 s, 1 s, 2 s ... up to 30 s.
func backoff(attempt int) time.Duration {
	return consume.ExpBackoff(uint64(max(attempt, 1)), 500*time.Millisecond, 30*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
