package hooksign

import (
	"crypto/sha256"
	"net/url"
	"testing"
)

// GitHub's documented test vector.
func TestHexMACGitHubVector(t *testing.T) {
	got := HexMAC(sha256.New, []byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	if want := "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Fatalf("HexMAC = %s, want %s", got, want)
	}
}

func TestSign(t *testing.T) {
	payload := []byte(`{"action":"opened","repository":{"id":42}}`)
	for _, form := range []bool{false, true} {
		d, err := Sign(payload, Params{Event: "issues", DeliveryID: "d-1", HookID: "7", Secret: []byte("s"), Form: form})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.Header.Get("X-Hub-Signature-256"), "sha256="+HexMAC(sha256.New, []byte("s"), d.Body); got != want {
			t.Errorf("form=%v: signature %s, want %s over the exact body", form, got, want)
		}
		for h, want := range map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-GitHub-Hook-ID": "7",
			"X-GitHub-Hook-Installation-Target-Type": "repository", "X-GitHub-Hook-Installation-Target-ID": "42"} {
			if got := d.Header.Get(h); got != want {
				t.Errorf("form=%v: %s = %q, want %q", form, h, got, want)
			}
		}
		if form {
			v, err := url.ParseQuery(string(d.Body))
			if err != nil || v.Get("payload") != string(payload) {
				t.Errorf("form body %q does not carry the payload", d.Body)
			}
			if ct := d.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("form content type %q", ct)
			}
		} else if string(d.Body) != string(payload) {
			t.Errorf("JSON body changed: %q", d.Body)
		}
	}
	if _, err := Sign([]byte("not json"), Params{}); err == nil {
		t.Error("Sign accepted a payload that is not JSON")
	}
}
