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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
