package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/config"
)

// GitHub's published test vector.
const (
	vectorSecret    = "It's a Secret to Everybody"
	vectorBody      = "Hello, World!"
	vectorSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestGitHubTestVector(t *testing.T) {
	t.Parallel()
	if got := Sign(vectorSecret, []byte(vectorBody)); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
	v := NewVerifier([]config.Secret{vectorSecret})
	idx, err := v.Verify([]byte(vectorBody), vectorSignature, "")
	if err != nil || idx != 0 {
		t.Fatalf("Verify(vector) = %d, %v; want 0, nil", idx, err)
	}
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(vectorSignature, "sha256="))
	if _, err := v.Verify([]byte(vectorBody), upper, ""); err != nil {
		t.Fatalf("Verify(upper-case hex) = %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	v := NewVerifier([]config.Secret{"old-secret", "", "new-secret"})
	tests := []struct {
		name      string
		sig, sha1 string
		body      []byte
		wantIdx   int
		wantErr   error
	}{
		{"first secret", Sign("old-secret", body), "", body, 0, nil},
		{"rotated secret", Sign("new-secret", body), "", body, 1, nil},
		{"unknown secret", Sign("other", body), "", body, -1, errSignatureMismatch},
		{"body changed", Sign("old-secret", body), "", append([]byte(" "), body...), -1, errSignatureMismatch},
		{"missing", "", "", body, -1, errSignatureMissing},
		{"sha1 only", "", "sha1=0123456789abcdef0123456789abcdef01234567", body, -1, errSignatureSHA1Only},
		{"sha1 prefix in sha256 header", "sha1=0123456789abcdef0123456789abcdef01234567", "", body, -1, errSignatureMalformed},
		{"short hex", Sign("old-secret", body)[:70], "", body, -1, errSignatureMalformed},
		{"long hex", Sign("old-secret", body) + "00", "", body, -1, errSignatureMalformed},
		{"non-hex", "sha256=" + strings.Repeat("zz", 32), "", body, -1, errSignatureMalformed},
		{"no prefix", strings.TrimPrefix(Sign("old-secret", body), "sha256="), "", body, -1, errSignatureMalformed},
		{"spaces", " " + Sign("old-secret", body), "", body, -1, errSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := v.Verify(tt.body, tt.sig, tt.sha1)
			if !errors.Is(err, tt.wantErr) || idx != tt.wantIdx {
				t.Fatalf("Verify = %d, %v; want %d, %v", idx, err, tt.wantIdx, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") && !strings.Contains(err.Error(), "header") {
				t.Fatalf("error %q may name a secret", err)
			}
		})
	}
	if v.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (empty secrets ignored)", v.Len())
	}
}

func TestVerifierWithoutSecretsRefusesEverything(t *testing.T) {
	t.Parallel()
	v := NewVerifier(nil)
	if _, err := v.Verify([]byte(vectorBody), vectorSignature, ""); !errors.Is(err, errSignatureMismatch) {
		t.Fatalf("Verify with no secret = %v, want mismatch", err)
	}
}

func TestParseIdentity(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		name    string
		headers map[string]string
		want    Identity
		wantErr string
	}{
		{"minimal", map[string]string{headerEvent: "issues", headerDelivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			Identity{Event: "issues", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}, ""},
		{"all headers", map[string]string{headerEvent: "pull_request", headerDelivery: "d1", headerHookID: "42", headerTargetType: "repository", headerTargetID: "7"},
			Identity{Event: "pull_request", DeliveryID: "d1", HookID: "42", TargetType: "repository", TargetID: "7"}, ""},
		{"unknown event accepted", map[string]string{headerEvent: "brand_new_event", headerDelivery: "d1"},
			Identity{Event: "brand_new_event", DeliveryID: "d1"}, ""},
		{"64 characters", map[string]string{headerEvent: long[:64], headerDelivery: long[:64]},
			Identity{Event: long[:64], DeliveryID: long[:64]}, ""},
		{"bad optional header dropped", map[string]string{headerEvent: "ping", headerDelivery: "d1", headerHookID: "4 2", headerTargetID: long},
			Identity{Event: "ping", DeliveryID: "d1"}, ""},
		{"missing event", map[string]string{headerDelivery: "d1"}, Identity{}, "missing X-GitHub-Event"},
		{"missing delivery", map[string]string{headerEvent: "ping"}, Identity{}, "missing X-GitHub-Delivery"},
		{"event too long", map[string]string{headerEvent: long, headerDelivery: "d1"}, Identity{}, "longer than 64"},
		{"delivery too long", map[string]string{headerEvent: "ping", headerDelivery: long}, Identity{}, "longer than 64"},
		{"event with space", map[string]string{headerEvent: "is sues", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event with wildcard", map[string]string{headerEvent: "issues.>", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event with dot", map[string]string{headerEvent: "issues.opened", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event with dash", map[string]string{headerEvent: "pull-request", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event upper case", map[string]string{headerEvent: "Issues", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event starting with a digit", map[string]string{headerEvent: "2issues", headerDelivery: "d1"}, Identity{}, "must be a GitHub event name"},
		{"event with digit", map[string]string{headerEvent: "projects_v2_item", headerDelivery: "d1"}, Identity{Event: "projects_v2_item", DeliveryID: "d1"}, ""},
		{"delivery with control", map[string]string{headerEvent: "ping", headerDelivery: "d\x01"}, Identity{}, "printable"},
		{"delivery non-ascii", map[string]string{headerEvent: "ping", headerDelivery: "dé"}, Identity{}, "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, err := ParseIdentity(h)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseIdentity error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseIdentity = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct   string
		want bodyFormat
		ok   bool
	}{
		{"application/json", formatJSON, true},
		{"application/json; charset=utf-8", formatJSON, true},
		{"Application/JSON", formatJSON, true},
		{"application/x-www-form-urlencoded", formatForm, true},
		{"application/x-www-form-urlencoded; charset=UTF-8", formatForm, true},
		{"", 0, false},
		{"text/plain", 0, false},
		{"application/jsonp", 0, false},
		{"multipart/form-data; boundary=x", 0, false},
		{"application/json; charset", 0, false},
	}
	for _, tt := range tests {
		got, err := parseContentType(tt.ct)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseContentType(%q) = %v, %v; want %v, ok=%v", tt.ct, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{"payload=%7B%22a%22%3A1%7D", `{"a":1}`, true},
		{"payload=%7B%22a%22%3A%22x+y%22%7D", `{"a":"x y"}`, true},
		{"", "", false},
		{"other=1", "", false},
		{"payload=1&payload=2", "", false},
		{"payload=%zz", "", false},
	}
	for _, tt := range tests {
		got, err := formPayload([]byte(tt.body))
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("formPayload(%q) = %q, %v; want %q, ok=%v", tt.body, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add(vectorSignature)
	f.Add("sha256=")
	f.Add("sha1=0123456789abcdef0123456789abcdef01234567")
	f.Add("sha256=" + strings.Repeat("G", 64))
	f.Fuzz(func(t *testing.T, s string) {
		sum, err := ParseSignature(s)
		if err != nil {
			if sum != [32]byte{} {
				t.Fatalf("ParseSignature(%q) returned a digest with an error", s)
			}
			return
		}
		// A parsed signature is always the prefix and 64 hex digits, and
		// re-encoding it gives the same value up to case.
		if len(s) != len(signaturePrefix)+64 {
			t.Fatalf("ParseSignature accepted %q of length %d", s, len(s))
		}
		v := NewVerifier([]config.Secret{"k"})
		if _, err := v.Verify([]byte("body"), s, ""); err != nil && !errors.Is(err, errSignatureMismatch) {
			t.Fatalf("Verify of a parsable signature = %v", err)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	f.Add("issues", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "42", "repository", "7")
	f.Add("", "", "", "", "")
	f.Add("a.b>*", "x y", "\x00", strings.Repeat("t", 70), "é")
	f.Fuzz(func(t *testing.T, event, id, hook, ttype, tid string) {
		h := http.Header{}
		h[headerEvent] = []string{event}
		h[headerDelivery] = []string{id}
		h[headerHookID] = []string{hook}
		h[headerTargetType] = []string{ttype}
		h[headerTargetID] = []string{tid}
		got, err := ParseIdentity(h)
		if err != nil {
			return
		}
		if got.Event != event || got.DeliveryID != id {
			t.Fatalf("ParseIdentity changed the values: %+v", got)
		}
		for _, s := range []string{got.Event, got.DeliveryID, got.HookID, got.TargetType, got.TargetID} {
			if len(s) > maxHeaderValue || !printable(s) && s != "" {
				t.Fatalf("ParseIdentity kept %q", s)
			}
		}
		if strings.Trim(got.Event, "abcdefghijklmnopqrstuvwxyz_0123456789") != "" || got.Event[0] < 'a' || got.Event[0] > 'z' || len(got.Event) > maxEventName {
			t.Fatalf("event %q is not a GitHub event name", got.Event)
		}
	})
}

func FuzzFormPayload(f *testing.F) {
	f.Add([]byte("payload=%7B%7D"))
	f.Add([]byte("payload=%"))
	f.Add([]byte("a=1&payload=2;x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := formPayload(body)
		if err == nil && p == nil {
			t.Fatalf("formPayload(%q) returned nil payload without error", body)
		}
	})
}

func FuzzParseContentType(f *testing.F) {
	f.Add("application/json; charset=utf-8")
	f.Add("application/x-www-form-urlencoded")
	f.Add(";;=")
	f.Fuzz(func(t *testing.T, ct string) {
		got, err := parseContentType(ct)
		if err == nil && got != formatJSON && got != formatForm {
			t.Fatalf("parseContentType(%q) = %v without error", ct, got)
		}
	})
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// bodyKeyHex is the body key of a body signed with secret, written out
// from its definition: SHA-256 over "ghnotify body key v1", a zero byte and
// the body's HMAC-SHA256 under secret.
func bodyKeyHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sum := sha256.Sum256(append([]byte("ghnotify body key v1\x00"), m.Sum(nil)...))
	return hex.EncodeToString(sum[:])
}

// TestBodyKeyFromFirstSecret checks the body key: the same whichever
// configured secret signed the body (derived from the HMAC under the
// first), and neither the signature nor the payload's SHA-256.
func TestBodyKeyFromFirstSecret(t *testing.T) {
	t.Parallel()
	body := []byte(`{"action":"opened"}`)
	v := NewVerifier([]config.Secret{"first-secret", "second-secret"})
	want := bodyKeyHex("first-secret", body)
	for i, secret := range []string{"first-secret", "second-secret"} {
		sig, err := ParseSignature(Sign(secret, body))
		if err != nil {
			t.Fatal(err)
		}
		idx, key, err := v.verifyKey([][]byte{body[:5], body[5:]}, sig)
		if err != nil || idx != i {
			t.Fatalf("signed with secret %d: index %d, %v", i, idx, err)
		}
		if got := hex.EncodeToString(key[:]); got != want {
			t.Fatalf("signed with secret %d: body key %s, want %s", i, got, want)
		}
		if bytes.Equal(key[:], sig[:]) {
			t.Fatalf("signed with secret %d: the body key is the signature", i)
		}
	}
	if want == sha256hex(string(body)) || want == bodyKeyHex("second-secret", body) {
		t.Fatal("body key is the payload's SHA-256 or does not depend on the first secret")
	}
	if _, _, err := v.verifyKey([][]byte{body}, [sha256.Size]byte{}); !errors.Is(err, errSignatureMismatch) {
		t.Fatalf("wrong signature: %v", err)
	}
}
