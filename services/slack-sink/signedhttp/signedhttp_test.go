package signedhttp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/signedhttp"
	"github.com/ghnotify/ghnotify/shared/event"
)

const secret = "s3cret-value"

func testEvent() *event.Event {
	return &event.Event{SpecVersion: event.SpecVersion, ID: "d1/issues.opened", Source: "https://github.com/acme/w", Type: event.Type("issues.opened"),
		Time: time.Unix(0, 0).UTC(), DataContentType: event.ContentType, Data: event.Data{
			Kind: "issues.opened", Event: "issues", Action: "opened", DeliveryID: "d1",
			Repository: &event.Repository{Owner: "acme", Name: "w", FullName: "acme/w"},
			Target:     &event.Target{Type: "issue", Number: 1, Title: "Broken"},
		}}
}

// poster parses a routes file with one http destination pointing at url.
func poster(t *testing.T, url string) deliver.Poster {
	t.Helper()
	tb, err := routes.Parse("t.yaml", []byte("destinations:\n  d: {http: \"${URL}/hooks/secret-path\", secret: \"${SECRET}\"}\ndefault: d\n"), routes.Options{
		Types: routes.Types{"http": signedhttp.Type{}},
		Lookup: func(name string) (string, bool) {
			return map[string]string{"URL": url, "SECRET": secret}[name], name == "URL" || name == "SECRET"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tb.Destinations["d"].Endpoint.(deliver.Poster)
}

// TestPostSendsASignedCloudEvent checks the wire format: the CloudEvent
// JSON as the body, its content type, the GitHub-style signature over the
// raw body, and the event and delivery ids.
func TestPostSendsASignedCloudEvent(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ev := testEvent()
	if _, err := poster(t, srv.URL).Post(context.Background(), ev, deliver.Thread{}); err != nil {
		t.Fatal(err)
	}
	want, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Errorf("body %s, want the CloudEvent %s", body, want)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if sig := got.Header.Get("X-Ghnotify-Signature-256"); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q does not verify", sig)
	}
	for h, v := range map[string]string{"Content-Type": "application/cloudevents+json", "X-Ghnotify-Event-Id": ev.ID, "X-Ghnotify-Delivery": "d1"} {
		if got.Header.Get(h) != v {
			t.Errorf("%s = %q, want %q", h, got.Header.Get(h), v)
		}
	}
	if got.Method != http.MethodPost || got.URL.Path != "/hooks/secret-path" {
		t.Errorf("%s %s", got.Method, got.URL.Path)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestAnswersMapToClasses checks how each answer is classified.
func TestAnswersMapToClasses(t *testing.T) {
	future := time.Now().Add(5 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		status     int
		retryAfter string
		ok         bool
		class      deliver.Class
		wait       time.Duration
	}{
		{200, "", true, 0, 0},
		{204, "", true, 0, 0},
		{429, "7", false, deliver.RateLimited, 7 * time.Second},
		{429, "", false, deliver.RateLimited, time.Second},
		{503, "3", false, deliver.RateLimited, 3 * time.Second},
		{503, "", false, deliver.Transient, 0},
		{500, "", false, deliver.Transient, 0},
		{502, "9", false, deliver.Transient, 0},
		{408, "", false, deliver.Transient, 0},
		{400, "", false, deliver.Permanent, 0},
		{401, "", false, deliver.Permanent, 0},
		{404, "", false, deliver.Permanent, 0},
		{410, "", false, deliver.Permanent, 0},
		{422, "", false, deliver.Permanent, 0},
		{302, "", false, deliver.Permanent, 0},
	}
	for _, tc := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				t.Errorf("%d: redirect followed", tc.status)
				return
			}
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			if tc.status == 302 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, "the receiver's reason")
		}))
		_, err := poster(t, srv.URL).Post(context.Background(), testEvent(), deliver.Thread{})
		srv.Close()
		if tc.ok {
			if err != nil {
				t.Errorf("%d: %v, want delivered", tc.status, err)
			}
			continue
		}
		var pe *deliver.Error
		if !errors.As(err, &pe) || pe.Class != tc.class || pe.RetryAfter != tc.wait {
			t.Errorf("%d Retry-After %q: %#v, want class %v waiting %v", tc.status, tc.retryAfter, err, tc.class, tc.wait)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "the receiver's reason") || strings.Contains(msg, "secret") {
			t.Errorf("%d: error %q lacks the reason or shows a secret", tc.status, msg)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", future)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := poster(t, srv.URL).Post(context.Background(), testEvent(), deliver.Thread{})
	var pe *deliver.Error
	if !errors.As(err, &pe) || pe.Class != deliver.RateLimited || pe.RetryAfter < 3*time.Minute || pe.RetryAfter > 5*time.Minute {
		t.Errorf("Retry-After as a date: %#v", err)
	}
}

// TestNetworkErrorsAreTransientAndKeepTheURLOut checks a refused
// connection: transient, and the error names the address dialled but not
// the URL (whose path or query may hold a secret).
func TestNetworkErrorsAreTransientAndKeepTheURLOut(t *testing.T) {
	_, err := poster(t, "http://127.0.0.1:1").Post(context.Background(), testEvent(), deliver.Thread{})
	var pe *deliver.Error
	if !errors.As(err, &pe) || pe.Class != deliver.Transient {
		t.Fatalf("%#v, want transient", err)
	}
	if strings.Contains(err.Error(), "secret-path") || strings.Contains(err.Error(), "http://") {
		t.Errorf("error %q shows the URL", err)
	}
}

// TestParse checks the http destination's fields in the routes file.
func TestParse(t *testing.T) {
	types := routes.Types{"http": signedhttp.Type{}}
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"URL": "https://example.com/x", "SECRET": "literal-secret-value"}[name]
		return v, ok
	}
	tests := []struct{ name, dest, want string }{
		{"valid", `{http: "${URL}", secret: "${SECRET}"}`, ""},
		{"no secret", `{http: "${URL}"}`, `t.yaml:2:3: destination "d": an http destination needs a secret`},
		{"literal secret", `{http: "${URL}", secret: "hunter2"}`, `t.yaml:2:31: destination "d": secret must be one environment variable`},
		{"secret and more", `{http: "${URL}", secret: "x${SECRET}"}`, `secret must be one environment variable`},
		{"unset secret", `{http: "${URL}", secret: "${NOPE}"}`, `secret: environment variable NOPE is not set`},
		{"not http", `{http: "ftp://example.com", secret: "${SECRET}"}`, `t.yaml:2:13: destination "d": http must be an https:// URL`},
		{"no host", `{http: "https://", secret: "${SECRET}"}`, `http must be an https:// URL`},
		{"token is not its key", `{http: "${URL}", secret: "${SECRET}", token: x}`, `unknown key "token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routes.Parse("t.yaml", []byte("destinations:\n  d: "+tc.dest+"\ndefault: d\n"), routes.Options{Types: types, Lookup: env})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse = %v, want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "literal-secret-value") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
	_, err := routes.Parse("t.yaml", []byte("destinations:\n  d: {http: \"${URL}\", secret: \"${SECRET}\"}\nroutes:\n  - {name: r, to: d, thread: true}\n"), routes.Options{Types: types, Lookup: env})
	if err == nil || !strings.Contains(err.Error(), `t.yaml:4:`) || !strings.Contains(err.Error(), `"d" is a http`) {
		t.Errorf("thread on an http destination: %v", err)
	}
}
