package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/hooksign"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/spf13/cobra"
)

// defaultGatewayPath is where the gateway takes GitHub deliveries.
const defaultGatewayPath = "/webhooks/github"

// sendTimeout bounds one `ghnotify send` request, as GitHub waits 10 s.
const sendTimeout = 30 * time.Second

// sendConfig is what `ghnotify send` needs: the flags and the environment.
type sendConfig struct {
	Event      string
	URL        string
	SecretFile string
	Form       bool
	HookID     string
	File       string
	Secret     config.Secret
	// Wait is how long to wait for the gateway's /readyz first; 0 does not.
	Wait time.Duration
}

// newSendCommand is `ghnotify send`: it signs FILE and posts it to the
// gateway as GitHub would.
func newSendCommand(e cliEnv) *cobra.Command {
	env := config.NewEnv(e.lookup)
	dataDir := env.String("GHNOTIFY_DATA_DIR", "./data")
	envSecrets := env.List("GITHUB_WEBHOOK_SECRET", nil)
	envSecretFile := env.String("GITHUB_WEBHOOK_SECRET_FILE", "")
	httpAddr := env.String("GHNOTIFY_HTTP_ADDR", ":8080")
	var cfg sendConfig
	cmd := &cobra.Command{
		Use:   "send [flags] FILE",
		Short: "Sign a JSON payload and post it to the gateway exactly as GitHub would",
		Long: `Signs the JSON payload in FILE with the webhook secret and posts it with all of
GitHub's headers and a fresh delivery id, then prints the gateway's answer.
With --wait it first waits until the gateway answers /readyz.`,
		Example: `  ghnotify send examples/issues-opened.json
  ghnotify send --wait examples/pull_request-opened.json
  ghnotify send --form --event ping examples/ping.json`,
		Args: exactArgs(1, "exactly one payload FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := env.Err(); err != nil {
				return err
			}
			cfg.File = args[0]
			return sendCommand(cmd.Context(), cfg, dataDir, envSecrets, e.stdout, e.stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Event, "event", "", "GitHub event name (X-GitHub-Event), e.g. issues; default: the file name up to its first '-' or '.'")
	f.StringVar(&cfg.URL, "url", localURL(httpAddr), "gateway URL")
	f.StringVar(&cfg.SecretFile, "secret-file", envSecretFile, "file holding the webhook secret (default: GITHUB_WEBHOOK_SECRET_FILE, else GITHUB_WEBHOOK_SECRET, else "+SecretFilePath(dataDir)+")")
	f.BoolVar(&cfg.Form, "form", false, "send as application/x-www-form-urlencoded (payload=...) instead of JSON")
	f.StringVar(&cfg.HookID, "hook-id", "1", "X-GitHub-Hook-ID to send")
	f.DurationVar(&cfg.Wait, "wait", 0, "first wait up to this long for the gateway's /readyz (--wait alone: 30s)")
	f.Lookup("wait").NoOptDefVal = "30s"
	return cmd
}

// sendCommand resolves the event and the secret, waits for the gateway when
// asked, and sends the file.
func sendCommand(ctx context.Context, cfg sendConfig, dataDir string, envSecrets []string, stdout, stderr io.Writer) error {
	if cfg.Event == "" {
		cfg.Event = eventFromFileName(cfg.File)
	}
	if cfg.Event == "" {
		return usageError{"cannot tell the event from the file name; pass --event, e.g. --event issues"}
	}

	switch {
	case cfg.SecretFile != "":
		s, err := readSecretFile(cfg.SecretFile)
		if err != nil {
			return err
		}
		cfg.Secret = s
	case len(envSecrets) > 0:
		cfg.Secret = config.Secret(envSecrets[0])
	default:
		path := SecretFilePath(dataDir)
		s, err := readSecretFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no webhook secret: set GITHUB_WEBHOOK_SECRET, pass --secret-file, or start `ghnotify run` once so that it generates %s", path)
		}
		if err != nil {
			return err
		}
		cfg.Secret = s
	}

	payload, err := os.ReadFile(cfg.File)
	if err != nil {
		return fmt.Errorf("reading payload: %w", err)
	}
	client := &http.Client{Timeout: sendTimeout}
	if cfg.Wait > 0 {
		if err := waitReady(ctx, client, cfg.URL, cfg.Wait, stderr); err != nil {
			return err
		}
	}
	return send(ctx, client, cfg, payload, stdout)
}

// readyURL is the gateway's /readyz next to its webhook URL.
func readyURL(webhookURL string) (string, error) {
	u, err := url.Parse(webhookURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("gateway URL %q is not an absolute URL", webhookURL)
	}
	u.Path, u.RawQuery, u.Fragment = "/readyz", "", ""
	return u.String(), nil
}

// waitReady polls the gateway's /readyz until it answers 200 or timeout
// passes.
func waitReady(ctx context.Context, client *http.Client, webhookURL string, timeout time.Duration, stderr io.Writer) error {
	ready, err := readyURL(webhookURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	said := false
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		if err != nil {
			return fmt.Errorf("building readiness request: %w", err)
		}
		resp, err := client.Do(req)
		last := ""
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = "no answer"
		}
		if !said {
			fmt.Fprintf(stderr, "waiting up to %s for the gateway at %s to be ready...\n", timeout, ready)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the gateway at %s was not ready within %s (last: %s)", ready, timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// send posts payload to cfg.URL and prints the answer; a non-2xx answer is an error.
func send(ctx context.Context, client *http.Client, cfg sendConfig, payload []byte, stdout io.Writer) error {
	id, err := newDeliveryID()
	if err != nil {
		return err
	}
	d, err := signDelivery(payload, deliveryParams{
		Event:      cfg.Event,
		DeliveryID: id,
		HookID:     cfg.HookID,
		Secret:     []byte(cfg.Secret.Reveal()),
		Form:       cfg.Form,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, strings.NewReader(string(d.Body)))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	for k, vs := range d.Header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("posting delivery to %s: %w", cfg.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the gateway's answer: %w", err)
	}
	fmt.Fprintf(stdout, "delivery %s (%s) -> %s\n", id, cfg.Event, resp.Status)
	if b := strings.TrimSpace(string(body)); b != "" {
		fmt.Fprintln(stdout, b)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("gateway answered %s", resp.Status)
	}
	return nil
}

// deliveryParams describe one delivery to sign; signedDelivery is the
// body and headers of a delivery as GitHub sends it (package hooksign).
type (
	deliveryParams = hooksign.Params
	signedDelivery = hooksign.Delivery
)

// signDelivery signs payload and builds all of GitHub's headers.
func signDelivery(payload []byte, p deliveryParams) (signedDelivery, error) {
	return hooksign.Sign(payload, p)
}

// hexMAC returns the hex HMAC of body under key.
func hexMAC(newHash func() hash.Hash, key, body []byte) string {
	return hooksign.HexMAC(newHash, key, body)
}

// newDeliveryID returns a random version 4 UUID, the form of GitHub's
// X-GitHub-Delivery.
func newDeliveryID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating delivery id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:], nil
}

// eventFromFileName guesses the event from a sample file name such as
// examples/issues-opened.json: the base name up to its first '-' or '.'.
func eventFromFileName(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexAny(base, "-."); i >= 0 {
		base = base[:i]
	}
	for _, c := range base {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return ""
		}
	}
	return base
}

// localURL returns the local gateway URL for a listen address such as
// ":8080" or "0.0.0.0:9000".
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		port = "8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + defaultGatewayPath
}
