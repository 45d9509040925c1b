package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/hooksign"
	"github.com/ghnotify/ghnotify/shared/config"
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
}

// sendCommand signs FILE and posts it to the gateway as GitHub would.
func sendCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookup config.Lookup) error {
	env := config.NewEnv(lookup)
	dataDir := env.String("GHNOTIFY_DATA_DIR", "./data")
	envSecrets := env.List("GITHUB_WEBHOOK_SECRET", nil)
	envSecretFile := env.String("GITHUB_WEBHOOK_SECRET_FILE", "")
	httpAddr := env.String("GHNOTIFY_HTTP_ADDR", ":8080")
	if err := env.Err(); err != nil {
		return err
	}

	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg sendConfig
	fs.StringVar(&cfg.Event, "event", "", "GitHub event name (X-GitHub-Event), e.g. issues; default: the file name up to its first '-' or '.'")
	fs.StringVar(&cfg.URL, "url", localURL(httpAddr), "gateway URL")
	fs.StringVar(&cfg.SecretFile, "secret-file", envSecretFile, "file holding the webhook secret (default: GITHUB_WEBHOOK_SECRET_FILE, else GITHUB_WEBHOOK_SECRET, else "+SecretFilePath(dataDir)+")")
	fs.BoolVar(&cfg.Form, "form", false, "send as application/x-www-form-urlencoded (payload=...) instead of JSON")
	fs.StringVar(&cfg.HookID, "hook-id", "1", "X-GitHub-Hook-ID to send")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ghnotify send [--event NAME] [--url URL] [--secret-file FILE] [--form] FILE")
		fmt.Fprintln(stderr, "\nSigns the JSON payload in FILE with the webhook secret and posts it with all of")
		fmt.Fprintln(stderr, "GitHub's headers and a fresh delivery id, then prints the gateway's answer.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if len(files) != 1 {
		fs.Usage()
		return usageError{"send takes exactly one payload FILE"}
	}
	cfg.File = files[0]
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
	return send(ctx, client, cfg, payload, stdout)
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

// parseInterspersed parses flags that may come before or after the
// positional arguments, returning the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
