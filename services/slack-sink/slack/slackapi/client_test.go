package slackapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		bot        bool
		class      Class
		reason     string
		wait       time.Duration
		ts         string
	}{
		{"webhook ok", 200, "", "ok", false, -1, "", 0, ""},
		{"rate limited", 429, "7", "rate_limited", false, RateLimited, "rate_limited", 7 * time.Second, ""},
		{"server error", 503, "", "rollup_error", false, Retryable, "rollup_error", 0, ""},
		{"invalid payload", 400, "", "invalid_payload", false, Permanent, "invalid_payload", 0, ""},
		{"forbidden", 403, "", "action_prohibited", false, Permanent, "action_prohibited", 0, ""},
		{"not found", 404, "", "channel_not_found", false, Permanent, "channel_not_found", 0, ""},
		{"archived", 410, "", "channel_is_archived", false, Permanent, "channel_is_archived", 0, ""},
		{"redirect not followed", 302, "", "", false, Permanent, "302", 0, ""},
		{"api ok", 200, "", `{"ok":true,"ts":"1.2"}`, true, -1, "", 0, "1.2"},
		{"api permanent", 200, "", `{"ok":false,"error":"invalid_blocks"}`, true, Permanent, "invalid_blocks", 0, ""},
		{"api retryable", 200, "", `{"ok":false,"error":"internal_error"}`, true, Retryable, "internal_error", 0, ""},
		{"api 429", 429, "3", `{"ok":false,"error":"ratelimited"}`, true, RateLimited, "ratelimited", 3 * time.Second, ""},
		{"api 429 without retry-after", 429, "", `{"ok":false,"error":"ratelimited"}`, true, RateLimited, "ratelimited", time.Second, ""},
		{"api ratelimited with 200", 200, "4", `{"ok":false,"error":"ratelimited"}`, true, RateLimited, "ratelimited", 4 * time.Second, ""},
		{"api ratelimited with 200 without retry-after", 200, "", `{"ok":false,"error":"ratelimited"}`, true, RateLimited, "ratelimited", time.Second, ""},
		{"api retryable with retry-after", 200, "2", `{"ok":false,"error":"service_unavailable"}`, true, RateLimited, "service_unavailable", 2 * time.Second, ""},
		{"api channel not found", 200, "", `{"ok":false,"error":"channel_not_found"}`, true, Permanent, "channel_not_found", 0, ""},
		{"api archived", 200, "", `{"ok":false,"error":"is_archived"}`, true, Permanent, "is_archived", 0, ""},
		{"api unknown code", 200, "", `{"ok":false,"error":"something_new"}`, true, Permanent, "something_new", 0, ""},
		{"api 503", 503, "", `{"ok":false,"error":"service_unavailable"}`, true, Retryable, "service_unavailable", 0, ""},
		{"api unreadable answer", 200, "", `<html>`, true, Retryable, "unreadable answer", 0, ""},
		{"api redirect not followed", 302, "", "", true, Permanent, "302", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth string
			redirected := false
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					redirected = true
					_, _ = w.Write([]byte(`{"ok":true}`))
					return
				}
				gotAuth = r.Header.Get("Authorization")
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			var p Poster = &WebhookClient{HTTP: NewHTTPClient(5 * time.Second), URL: secretOf(srv.URL + "/services/T/B/secretpart")}
			if tc.bot {
				p = &BotClient{HTTP: NewHTTPClient(5 * time.Second), APIURL: srv.URL + "/api/", Token: "xoxb-secret", Channel: "C1"}
			}
			resp, err := p.Post(context.Background(), Request{})
			if tc.class == -1 {
				if err != nil || resp.TS != tc.ts {
					t.Fatalf("Post = %+v, %v", resp, err)
				}
				if tc.bot && gotAuth != "Bearer xoxb-secret" {
					t.Errorf("Authorization = %q", gotAuth)
				}
				return
			}
			if redirected {
				t.Error("the redirect was followed")
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if se.Class != tc.class || !strings.Contains(se.Error(), tc.reason) || se.RetryAfter != tc.wait {
				t.Errorf("err = %+v (%v), want class %v reason %q wait %v", se, se, tc.class, tc.reason, tc.wait)
			}
			if strings.Contains(se.Error(), "secretpart") || strings.Contains(se.Error(), "xoxb-secret") {
				t.Errorf("secret in error: %v", se)
			}
		})
	}
}

func TestNetworkErrorHidesURL(t *testing.T) {
	c := &WebhookClient{HTTP: NewHTTPClient(time.Second), URL: secretOf("http://127.0.0.1:1/services/T/B/secretpart")}
	_, err := c.Post(context.Background(), Request{})
	var se *Error
	if !errors.As(err, &se) || se.Class != Retryable || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("err = %v", err)
	}
}

func secretOf(s string) config.Secret { return config.Secret(s) }

// TestTimeout checks that a Slack that never answers fails the post as
// retryable once the client's timeout passes, without showing the URL.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	if NewHTTPClient(7*time.Second).Timeout != 7*time.Second {
		t.Fatal("NewHTTPClient dropped its timeout")
	}
	for _, p := range []Poster{
		&WebhookClient{HTTP: NewHTTPClient(50 * time.Millisecond), URL: secretOf(srv.URL + "/services/T/B/secretpart")},
		&BotClient{HTTP: NewHTTPClient(50 * time.Millisecond), APIURL: srv.URL + "/api/", Token: "xoxb-secret", Channel: "C1"},
	} {
		_, err := p.Post(context.Background(), Request{})
		var se *Error
		if !errors.As(err, &se) || se.Class != Retryable || !strings.Contains(err.Error(), "Timeout") {
			t.Errorf("%T: err = %v, want a retryable timeout", p, err)
		}
		if err != nil && (strings.Contains(err.Error(), "secretpart") || strings.Contains(err.Error(), "xoxb-secret") || strings.Contains(err.Error(), srv.URL)) {
			t.Errorf("%T: secret or URL in error: %v", p, err)
		}
	}
}
