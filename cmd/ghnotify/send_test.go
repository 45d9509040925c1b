package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/shared/config"
)

func TestHexMACMatchesGitHubTestVector(t *testing.T) {
	got := "sha256=" + hexMAC(sha256.New, []byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestSignDelivery(t *testing.T) {
	payload := []byte(`{"action":"opened","repository":{"id":1001},"organization":{"id":101}}`)
	orgPayload := []byte(`{"action":"member_added","organization":{"id":101}}`)
	tests := []struct {
		name        string
		payload     []byte
		form        bool
		wantCT      string
		wantTarget  [2]string
		wantErrText string
	}{
		{name: "json", payload: payload, wantCT: "application/json", wantTarget: [2]string{"repository", "1001"}},
		{name: "form", payload: payload, form: true, wantCT: "application/x-www-form-urlencoded", wantTarget: [2]string{"repository", "1001"}},
		{name: "organization hook", payload: orgPayload, wantCT: "application/json", wantTarget: [2]string{"organization", "101"}},
		{name: "no target", payload: []byte(`{"zen":"hi"}`), wantCT: "application/json", wantTarget: [2]string{"repository", "0"}},
		{name: "not json", payload: []byte(`action=opened`), wantErrText: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := "It's a Secret to Everybody"
			d, err := signDelivery(tt.payload, deliveryParams{Event: "issues", DeliveryID: "d-1", HookID: "7", Secret: []byte(secret), Form: tt.form})
			if tt.wantErrText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("err = %v, want %q", err, tt.wantErrText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := d.Header
			for k, want := range map[string]string{
				"Content-Type":                           tt.wantCT,
				"X-GitHub-Event":                         "issues",
				"X-GitHub-Delivery":                      "d-1",
				"X-GitHub-Hook-ID":                       "7",
				"X-GitHub-Hook-Installation-Target-Type": tt.wantTarget[0],
				"X-GitHub-Hook-Installation-Target-ID":   tt.wantTarget[1],
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if !strings.HasPrefix(h.Get("User-Agent"), "GitHub-Hookshot/") {
				t.Errorf("User-Agent = %q", h.Get("User-Agent"))
			}
			// The gateway's own verifier accepts the signature over the exact body.
			v := gateway.NewVerifier([]config.Secret{config.Secret(secret)})
			if _, err := v.Verify(d.Body, h.Get("X-Hub-Signature-256"), ""); err != nil {
				t.Errorf("gateway rejects the signature: %v", err)
			}
			if _, err := gateway.NewVerifier([]config.Secret{"other"}).Verify(d.Body, h.Get("X-Hub-Signature-256"), ""); err == nil {
				t.Error("signature verifies under another secret")
			}
			m := hmac.New(sha1.New, []byte(secret))
			m.Write(d.Body)
			if got, want := h.Get("X-Hub-Signature"), "sha1="+hex.EncodeToString(m.Sum(nil)); got != want {
				t.Errorf("X-Hub-Signature = %q, want %q", got, want)
			}
			body := d.Body
			if tt.form {
				vals, err := url.ParseQuery(string(d.Body))
				if err != nil {
					t.Fatal(err)
				}
				body = []byte(vals.Get("payload"))
			}
			if !bytes.Equal(body, tt.payload) {
				t.Errorf("payload changed on the way: %s", body)
			}
		})
	}
}

func TestNewDeliveryIDIsFreshUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id, err := newDeliveryID()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q generated twice", id)
		}
		seen[id] = true
	}
}

func TestEventFromFileName(t *testing.T) {
	tests := map[string]string{
		"examples/issues-opened.json":       "issues",
		"pull_request-opened.json":          "pull_request",
		"/tmp/ping.json":                    "ping",
		"workflow_run.completed.json":       "workflow_run",
		"payload.json":                      "payload",
		"Issues-opened.json":                "",
		"../x/123.json":                     "",
		"examples/pull_request_review.json": "pull_request_review",
	}
	for in, want := range tests {
		if got := eventFromFileName(in); got != want {
			t.Errorf("eventFromFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocalURL(t *testing.T) {
	tests := map[string]string{
		":8080":          "http://127.0.0.1:8080/webhooks/github",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/webhooks/github",
		"127.0.0.1:8181": "http://127.0.0.1:8181/webhooks/github",
		"[::]:8080":      "http://127.0.0.1:8080/webhooks/github",
		"[::1]:8080":     "http://[::1]:8080/webhooks/github",
		":0":             "http://127.0.0.1:8080/webhooks/github",
		"garbage":        "http://127.0.0.1:8080/webhooks/github",
	}
	for in, want := range tests {
		if got := localURL(in); got != want {
			t.Errorf("localURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// recordingGateway is an httptest gateway that remembers the requests it got.
type recordingGateway struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	status int
	answer string
}

// ServeHTTP records the request and its body and answers with the set status.
func (g *recordingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.reqs = append(g.reqs, r)
	g.bodies = append(g.bodies, b)
	g.mu.Unlock()
	w.WriteHeader(g.status)
	io.WriteString(w, g.answer)
}

func TestSendCommand(t *testing.T) {
	payloadFile := filepath.Join(t.TempDir(), "issues-opened.json")
	if err := os.WriteFile(payloadFile, []byte(`{"action":"opened","repository":{"id":5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	if err := os.WriteFile(SecretFilePath(dataDir), []byte("from-data-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flagFile := filepath.Join(t.TempDir(), "flag-secret")
	if err := os.WriteFile(flagFile, []byte("# comment\nfrom-flag\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		status     int
		wantSecret string
		wantEvent  string
		wantForm   bool
		wantErr    string
		wantUsage  bool
	}{
		{name: "secret from env, event from file name", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "from-env,older"}, status: 202, wantSecret: "from-env", wantEvent: "issues"},
		{name: "secret from data dir", env: map[string]string{"GHNOTIFY_DATA_DIR": dataDir}, status: 202, wantSecret: "from-data-dir", wantEvent: "issues"},
		{name: "secret file flag wins", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "from-env"}, args: []string{"--secret-file", flagFile}, status: 200, wantSecret: "from-flag", wantEvent: "issues"},
		{name: "secret file from env", env: map[string]string{"GITHUB_WEBHOOK_SECRET_FILE": flagFile}, status: 200, wantSecret: "from-flag", wantEvent: "issues"},
		{name: "explicit event and form", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "sekrit-xyz"}, args: []string{"--event", "ping", "--form"}, status: 202, wantSecret: "sekrit-xyz", wantEvent: "ping", wantForm: true},
		{name: "rejection is an error", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "sekrit-xyz"}, status: 401, wantSecret: "sekrit-xyz", wantEvent: "issues", wantErr: "401"},
		{name: "no secret anywhere", env: map[string]string{"GHNOTIFY_DATA_DIR": t.TempDir()}, wantErr: "no webhook secret"},
		{name: "no file", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "sekrit-xyz"}, args: []string{"--event", "ping", "--"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := &recordingGateway{status: tt.status, answer: `{"status":"stored"}`}
			srv := httptest.NewServer(gw)
			defer srv.Close()
			args := append([]string{"send", "--url", srv.URL + "/webhooks/github"}, tt.args...)
			if !tt.wantUsage {
				args = append(args, payloadFile)
			}
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr, lookup)
			if tt.wantUsage {
				if exitCode(err) != 2 {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("send: %v (stderr %s)", err, stderr.String())
			}
			if tt.wantSecret == "" {
				if len(gw.reqs) != 0 {
					t.Fatal("a request was sent without a secret")
				}
				return
			}
			if len(gw.reqs) != 1 {
				t.Fatalf("gateway got %d requests, want 1", len(gw.reqs))
			}
			r, body := gw.reqs[0], gw.bodies[0]
			if r.URL.Path != "/webhooks/github" || r.Method != http.MethodPost {
				t.Errorf("request %s %s", r.Method, r.URL.Path)
			}
			if got := r.Header.Get("X-GitHub-Event"); got != tt.wantEvent {
				t.Errorf("X-GitHub-Event = %q, want %q", got, tt.wantEvent)
			}
			if got := r.Header.Get("Content-Type") == "application/x-www-form-urlencoded"; got != tt.wantForm {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			v := gateway.NewVerifier([]config.Secret{config.Secret(tt.wantSecret)})
			if _, err := v.Verify(body, r.Header.Get("X-Hub-Signature-256"), ""); err != nil {
				t.Errorf("not signed with %q: %v", tt.wantSecret, err)
			}
			id := r.Header.Get("X-GitHub-Delivery")
			if id == "" || !strings.Contains(stdout.String(), id) || !strings.Contains(stdout.String(), "stored") {
				t.Errorf("stdout does not show the delivery id and the answer: %q", stdout.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), tt.wantSecret) {
				t.Error("the secret was printed")
			}
		})
	}
}

func FuzzSignDelivery(f *testing.F) {
	f.Add([]byte(`{"action":"opened","repository":{"id":1}}`), "s", false)
	f.Add([]byte(`{"organization":{"id":2},"x":"a&b=c+d%"}`), "", true)
	f.Add([]byte(`[1,2`), "s", false)
	f.Add([]byte(`"\u0000"`), "k", true)
	f.Fuzz(func(t *testing.T, payload []byte, secret string, form bool) {
		d, err := signDelivery(payload, deliveryParams{Event: "issues", DeliveryID: "x", HookID: "1", Secret: []byte(secret), Form: form})
		if err != nil {
			return
		}
		if secret != "" {
			v := gateway.NewVerifier([]config.Secret{config.Secret(secret)})
			if _, err := v.Verify(d.Body, d.Header.Get("X-Hub-Signature-256"), ""); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
		}
		body := d.Body
		if form {
			vals, err := url.ParseQuery(string(d.Body))
			if err != nil {
				t.Fatalf("form body does not parse: %v", err)
			}
			body = []byte(vals.Get("payload"))
		}
		if !bytes.Equal(body, payload) {
			t.Fatalf("payload changed: %q -> %q", payload, body)
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	f.Add([]byte("s3cret\n"))
	f.Add([]byte("# c\n\n x \n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSecret(b)
		if err != nil {
			return
		}
		v := s.Reveal()
		if v == "" || strings.ContainsAny(v, "\n") || strings.TrimSpace(v) != v || strings.HasPrefix(v, "#") {
			t.Fatalf("parseSecret(%q) = %q", b, v)
		}
		if !bytes.Contains(b, []byte(v)) {
			t.Fatalf("secret %q not in input", v)
		}
	})
}
