package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the gateway's settings.
const (
	DefaultAddr              = ":8080"
	DefaultMaxBodyBytes      = 25 << 20
	DefaultPublishTimeout    = 5 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 15 * time.Second
	DefaultIdleTimeout       = 90 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultRetryAfter        = 5 * time.Second
)

// Config is everything the gateway needs to run.
type Config struct {
	// Addr is the host:port the HTTP server listens on.
	Addr string
	// Listener, when set, is used instead of listening on Addr (tests, port 0).
	Listener net.Listener
	// OnListen, when set, is called with the listening address once the
	// server accepts connections.
	OnListen func(net.Addr)
	// Secrets are the webhook secrets; a signature made with any of them is
	// accepted, so a secret can be rotated without downtime.
	Secrets []config.Secret
	// InsecureSkipSignature accepts unsigned deliveries. For development
	// only; every request then logs a warning.
	InsecureSkipSignature bool
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64
	// MaxInflightBytes caps the request body bytes buffered at once across
	// every request (GHNOTIFY_MAX_INFLIGHT_BYTES); a request that does not
	// fit is answered 503 with Retry-After.
	MaxInflightBytes int64
	// Ops is where /metrics (and /debug/pprof/ when enabled) is served,
	// apart from the webhook port (GHNOTIFY_OPS_ADDR, GHNOTIFY_PPROF).
	Ops ops.Config
	// PublishTimeout bounds storing one delivery in JetStream, so that the
	// whole request stays well inside GitHub's 10 s.
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After of a 503.
	RetryAfter time.Duration
	// DedupeBodies treats a body already stored under another delivery id
	// as a duplicate.
	DedupeBodies bool
	// AllowedCIDRs, when not empty, are the only client ranges admitted.
	AllowedCIDRs []string
	// TrustedProxies are the ranges whose X-Forwarded-For is believed.
	TrustedProxies []string
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer; it must exceed PublishTimeout.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the size of a request's headers.
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful shutdown of the HTTP server.
	ShutdownTimeout time.Duration
	// MetricsGatherer, when set, adds its metrics to /metrics: `ghnotify run`
	// passes the default registry, where the other services register, so one
	// endpoint shows the whole process. Go and process metrics then come from it.
	MetricsGatherer prometheus.Gatherer
	// StoreCheck, when set, is asked by /readyz whether JetStream can store
	// deliveries: `ghnotify run` passes the embedded server's health, which
	// knows about a stream's write error (a full disk) before a delivery fails.
	StoreCheck func(context.Context) error
	// Provision sizes the streams and buckets; its DedupeHorizon is how long
	// delivery ids and bodies are remembered.
	Provision provision.Config
}

// ConfigFromEnv reads the gateway's configuration from the environment.
func ConfigFromEnv(e *config.Env) Config {
	c := Config{
		Addr:                  e.String("GHNOTIFY_HTTP_ADDR", DefaultAddr),
		InsecureSkipSignature: e.Bool("GHNOTIFY_INSECURE_SKIP_SIGNATURE", false),
		MaxBodyBytes:          int64(e.Int("GHNOTIFY_MAX_BODY_BYTES", DefaultMaxBodyBytes)),
		Ops:                   ops.FromEnv(e, ops.DefaultGatewayAddr),
		PublishTimeout:        e.Duration("GHNOTIFY_PUBLISH_TIMEOUT", DefaultPublishTimeout),
		RetryAfter:            e.Duration("GHNOTIFY_RETRY_AFTER", DefaultRetryAfter),
		DedupeBodies:          e.Bool("GHNOTIFY_DEDUPE_BODIES", true),
		AllowedCIDRs:          e.List("GHNOTIFY_ALLOWED_CIDRS", nil),
		TrustedProxies:        e.List("GHNOTIFY_TRUSTED_PROXIES", nil),
		ReadHeaderTimeout:     e.Duration("GHNOTIFY_HTTP_READ_HEADER_TIMEOUT", DefaultReadHeaderTimeout),
		ReadTimeout:           e.Duration("GHNOTIFY_HTTP_READ_TIMEOUT", DefaultReadTimeout),
		WriteTimeout:          e.Duration("GHNOTIFY_HTTP_WRITE_TIMEOUT", DefaultWriteTimeout),
		IdleTimeout:           e.Duration("GHNOTIFY_HTTP_IDLE_TIMEOUT", DefaultIdleTimeout),
		MaxHeaderBytes:        e.Int("GHNOTIFY_HTTP_MAX_HEADER_BYTES", DefaultMaxHeaderBytes),
		ShutdownTimeout:       e.Duration("GHNOTIFY_SHUTDOWN_TIMEOUT", DefaultShutdownTimeout),
		Provision:             provision.FromEnv(e),
	}
	// The budget's default is never below the body cap.
	c.MaxInflightBytes = int64(e.Int("GHNOTIFY_MAX_INFLIGHT_BYTES", int(max(DefaultMaxInflightBytes, c.MaxBodyBytes))))
	for _, s := range e.List("GITHUB_WEBHOOK_SECRET", nil) {
		c.Secrets = append(c.Secrets, config.Secret(s))
	}
	if path := e.String("GITHUB_WEBHOOK_SECRET_FILE", ""); path != "" {
		secrets, err := readSecretFile(path)
		if err != nil {
			e.Fail(err)
		}
		c.Secrets = append(c.Secrets, secrets...)
	}
	return c
}

// readSecretFile reads one secret a line; blank lines and lines starting
// with '#' are skipped. Errors name the file, never its content.
func readSecretFile(path string) ([]config.Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("GITHUB_WEBHOOK_SECRET_FILE: reading %s: %w", path, err)
	}
	var out []config.Secret
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, config.Secret(line))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("GITHUB_WEBHOOK_SECRET_FILE: %s holds no secret", path)
	}
	return out, nil
}

// withDefaults fills every zero setting with its default, so a Config built
// in code needs only what it changes.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = max(DefaultMaxInflightBytes, c.MaxBodyBytes)
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	return c
}

// Validate reports every setting the gateway cannot run with.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	set := 0
	for _, s := range c.Secrets {
		if s.IsSet() {
			set++
		}
	}
	if set == 0 && !c.InsecureSkipSignature {
		errs = append(errs, errors.New("GITHUB_WEBHOOK_SECRET is not set: give the webhook secret (or GITHUB_WEBHOOK_SECRET_FILE), or set GHNOTIFY_INSECURE_SKIP_SIGNATURE=true for development only"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("GHNOTIFY_MAX_BODY_BYTES must be positive"))
	}
	if c.MaxInflightBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("GHNOTIFY_MAX_INFLIGHT_BYTES (%d) must be at least GHNOTIFY_MAX_BODY_BYTES (%d), or the largest deliveries could never be read", c.MaxInflightBytes, c.MaxBodyBytes))
	}
	if err := c.Ops.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"GHNOTIFY_PUBLISH_TIMEOUT", c.PublishTimeout},
		{"GHNOTIFY_RETRY_AFTER", c.RetryAfter},
		{"GHNOTIFY_HTTP_READ_HEADER_TIMEOUT", c.ReadHeaderTimeout},
		{"GHNOTIFY_HTTP_READ_TIMEOUT", c.ReadTimeout},
		{"GHNOTIFY_HTTP_WRITE_TIMEOUT", c.WriteTimeout},
		{"GHNOTIFY_HTTP_IDLE_TIMEOUT", c.IdleTimeout},
		{"GHNOTIFY_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("GHNOTIFY_HTTP_MAX_HEADER_BYTES must be positive"))
	}
	if c.WriteTimeout > 0 && c.WriteTimeout <= c.PublishTimeout {
		errs = append(errs, errors.New("GHNOTIFY_HTTP_WRITE_TIMEOUT must be longer than GHNOTIFY_PUBLISH_TIMEOUT, or no answer could be written after a slow publish"))
	}
	if err := checkHorizon(c.Provision); err != nil {
		errs = append(errs, err)
	}
	if _, err := NewAllowlist(c.AllowedCIDRs, c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("GHNOTIFY_ALLOWED_CIDRS or GHNOTIFY_TRUSTED_PROXIES: %w", err))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("checking gateway configuration: %w", errors.Join(errs...))
}

// minSecretBytes is the shortest webhook secret not warned about.
const minSecretBytes = 16

// weakSecrets returns the positions (0 is the first configured) of the
// secrets shorter than minSecretBytes: an HMAC key that short can be
// guessed offline from one signed delivery.
func weakSecrets(secrets []config.Secret) []int {
	var weak []int
	for i, s := range secrets {
		if s.IsSet() && len(s.Reveal()) < minSecretBytes {
			weak = append(weak, i)
		}
	}
	return weak
}

// checkHorizon refuses a dedupe horizon longer than the raw stream keeps
// deliveries: the dedupe index is rebuilt from the raw stream, so it cannot
// remember a delivery the stream no longer holds.
func checkHorizon(p provision.Config) error {
	d := provision.Defaults()
	horizon, rawAge := p.DedupeHorizon, p.RawMaxAge
	if horizon <= 0 {
		horizon = d.DedupeHorizon
	}
	if rawAge <= 0 {
		rawAge = d.RawMaxAge
	}
	if horizon > rawAge {
		return fmt.Errorf("GHNOTIFY_DEDUPE_HORIZON (%s) is longer than GHNOTIFY_RAW_MAX_AGE (%s): the gateway rebuilds its dedupe index from the raw stream, so raise GHNOTIFY_RAW_MAX_AGE or lower the horizon", horizon, rawAge)
	}
	return nil
}
