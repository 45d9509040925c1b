package signedhttp

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		set  bool
	}{
		{"", time.Second, false},
		{"0", 0, true},
		{" 12 ", 12 * time.Second, true},
		{"-3", 0, true},
		{"Thu, 01 Jan 2026 00:01:30 GMT", 90 * time.Second, true},
		{"Wed, 31 Dec 2025 23:00:00 GMT", 0, true},
		{"soon", time.Second, true},
		{"86400", MaxRetryAfter, true},
		{"99999999999999999999", time.Second, true},
		{"Fri, 01 Jan 2027 00:00:00 GMT", MaxRetryAfter, true},
	}
	for _, tc := range tests {
		if d, set := retryAfter(tc.in, now); d != tc.want || set != tc.set {
			t.Errorf("retryAfter(%q) = %v, %t; want %v, %t", tc.in, d, set, tc.want, tc.set)
		}
	}
}

// FuzzRetryAfter checks that no Retry-After a receiver sends makes the
// parser panic or ask for a negative wait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "5", "-1", "99999999999999999999", "Thu, 01 Jan 2026 00:01:30 GMT", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, _ := retryAfter(s, now); d < 0 || d > MaxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v", s, d)
		}
	})
}
