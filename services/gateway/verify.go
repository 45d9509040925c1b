package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/url"
	"strings"
	"sync"

	"github.com/ghnotify/ghnotify/shared/config"
)

// Request headers the gateway reads.
const (
	headerSignature256  = "X-Hub-Signature-256"
	headerSignatureSHA1 = "X-Hub-Signature"
	headerEvent         = "X-GitHub-Event"
	headerDelivery      = "X-GitHub-Delivery"
	headerHookID        = "X-GitHub-Hook-ID"
	headerTargetType    = "X-GitHub-Hook-Installation-Target-Type"
	headerTargetID      = "X-GitHub-Hook-Installation-Target-ID"
)

// maxHeaderValue is the longest X-GitHub-Delivery accepted, and the longest
// optional hook header stored.
const maxHeaderValue = 64

// maxEventName is the longest X-GitHub-Event accepted; GitHub's longest
// event name is about half of it.
const maxEventName = 64

// signaturePrefix starts every X-Hub-Signature-256 value.
const signaturePrefix = "sha256="

// Errors of signature checking. None of them names a secret or repeats the
// signature it was given.
var (
	errSignatureMissing   = errors.New("missing " + headerSignature256 + " header")
	errSignatureSHA1Only  = errors.New("only the SHA-1 " + headerSignatureSHA1 + " header was sent; " + headerSignature256 + " is required")
	errSignatureMalformed = errors.New(headerSignature256 + " must be sha256= followed by 64 hex digits")
	errSignatureMismatch  = errors.New(headerSignature256 + " does not match the body")
)

// ParseSignature decodes an X-Hub-Signature-256 value: "sha256=" followed by
// exactly 64 hexadecimal digits (either case).
func ParseSignature(v string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(v, signaturePrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return sum, errSignatureMalformed
	}
	if _, err := hex.Decode(sum[:], []byte(hexPart)); err != nil {
		return [sha256.Size]byte{}, errSignatureMalformed
	}
	return sum, nil
}

// Verifier checks X-Hub-Signature-256 against one or more secrets, so that a
// secret can be rotated without downtime: the old and the new one are both
// accepted until GitHub uses only the new one.
//
// It is written here, on crypto/hmac, rather than taken from a webhook
// library: it checks the exact bytes received (streamed in chunks, before
// any decoding), several secrets at once, in constant time, and refuses the
// SHA-1 header alone; the libraries at hand read the request themselves
// and take one secret.
type Verifier struct {
	keys [][]byte
	// macs holds, per secret, HMACs keyed with it, reset and reused
	// across requests (keying one costs allocations and two blocks).
	macs []sync.Pool
}

// NewVerifier returns a Verifier for the given secrets. Empty secrets are
// ignored.
func NewVerifier(secrets []config.Secret) *Verifier {
	v := &Verifier{}
	for _, s := range secrets {
		if s.IsSet() {
			v.keys = append(v.keys, []byte(s.Reveal()))
		}
	}
	v.macs = make([]sync.Pool, len(v.keys))
	for i, k := range v.keys {
		v.macs[i].New = func() any { return hmac.New(sha256.New, k) }
	}
	return v
}

// Len returns the number of secrets the Verifier checks against.
func (v *Verifier) Len() int { return len(v.keys) }

// Verify checks the signature header value sig (and the legacy SHA-1 header
// value sha1, only to give a precise error) against body. It returns the
// index of the matching secret. Every secret is tried, whether or not an
// earlier one matched, and each comparison is constant-time, so the timing
// says nothing about which secret matched.
func (v *Verifier) Verify(body []byte, sig, sha1 string) (int, error) {
	want, err := parseSignatureHeader(sig, sha1)
	if err != nil {
		return -1, err
	}
	return v.verifySum([][]byte{body}, want)
}

// parseSignatureHeader checks the syntax of the signature headers, before a
// byte of the body is read: X-Hub-Signature-256 must be present (sha1, the
// legacy header, only makes the error precise) and well-formed.
func parseSignatureHeader(sig, sha1 string) ([sha256.Size]byte, error) {
	if sig == "" {
		if sha1 != "" {
			return [sha256.Size]byte{}, errSignatureSHA1Only
		}
		return [sha256.Size]byte{}, errSignatureMissing
	}
	return ParseSignature(sig)
}

// verifySum checks the decoded signature want against the body made of
// chunks under every secret.
func (v *Verifier) verifySum(chunks [][]byte, want [sha256.Size]byte) (int, error) {
	match, _, err := v.verifyKey(chunks, want)
	return match, err
}

// verifyKey checks the decoded signature want against the body made of
// chunks under every secret, and returns with the matching secret's index
// the body's key (bodyKeyFromMAC of its HMAC under the first secret,
// which is computed anyway since every secret is tried).
func (v *Verifier) verifyKey(chunks [][]byte, want [sha256.Size]byte) (int, [sha256.Size]byte, error) {
	match := -1
	var got, key [sha256.Size]byte
	for i := range v.keys {
		m := v.macs[i].Get().(hash.Hash)
		for _, c := range chunks {
			m.Write(c)
		}
		sum := m.Sum(got[:0])
		if i == 0 {
			key = bodyKeyFromMAC(sum)
		}
		if hmac.Equal(sum, want[:]) && match < 0 {
			match = i
		}
		m.Reset()
		v.macs[i].Put(m)
	}
	if match < 0 {
		return -1, [sha256.Size]byte{}, errSignatureMismatch
	}
	return match, key, nil
}

// bodyKeyLabel separates body keys from any other use of SHA-256 over an
// HMAC of the body.
const bodyKeyLabel = "ghnotify body key v1\x00"

// bodyKeyFromMAC derives a body's dedupe key from its HMAC-SHA256 under
// the first secret: SHA-256 over a label and the MAC. The HMAC is already
// a keyed digest of the body, so the body need not be hashed a second
// time; hashing it once more means the key, which is stored in every raw
// message, is not a valid signature and does not reveal one. The same body
// has the same key whichever configured secret signed it.
func bodyKeyFromMAC(mac []byte) [sha256.Size]byte {
	var buf [len(bodyKeyLabel) + sha256.Size]byte
	n := copy(buf[:], bodyKeyLabel)
	copy(buf[n:], mac)
	return sha256.Sum256(buf[:])
}

// bodyKeyUnsigned is the body key when no signature is checked
// (GHNOTIFY_INSECURE_SKIP_SIGNATURE): the SHA-256 of the payload.
func bodyKeyUnsigned(payload []byte) [sha256.Size]byte { return sha256.Sum256(payload) }

// Sign returns the X-Hub-Signature-256 value of body under secret, as GitHub
// computes it. Tests and the load generator use it.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Identity is what the GitHub headers say about a delivery.
type Identity struct {
	Event      string
	DeliveryID string
	HookID     string
	TargetType string
	TargetID   string
}

// headerGetter is the part of http.Header the parser needs.
type headerGetter interface {
	Get(key string) string
}

// ParseIdentity reads and validates the GitHub headers of a delivery.
// X-GitHub-Event must be written as GitHub writes event names (lower-case
// letters, '_' and digits, starting with a letter, at most 64 characters: the header is not covered by the
// signature, so nothing else may reach metric labels, subjects or trace
// records) and X-GitHub-Delivery printable ASCII of at most 64
// characters. The optional hook headers are kept when they are printable and
// short, and dropped otherwise.
func ParseIdentity(h headerGetter) (Identity, error) {
	id := Identity{
		Event:      h.Get(headerEvent),
		DeliveryID: h.Get(headerDelivery),
	}
	if err := validateEvent(id.Event); err != nil {
		return Identity{}, err
	}
	if err := validateDeliveryID(id.DeliveryID); err != nil {
		return Identity{}, err
	}
	id.HookID = optionalHeader(h.Get(headerHookID))
	id.TargetType = optionalHeader(h.Get(headerTargetType))
	id.TargetID = optionalHeader(h.Get(headerTargetID))
	return id, nil
}

func validateEvent(s string) error {
	if s == "" {
		return errors.New("missing " + headerEvent + " header")
	}
	if len(s) > maxEventName {
		return fmt.Errorf("%s is longer than %d characters", headerEvent, maxEventName)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return errors.New(headerEvent + " must be a GitHub event name: lower-case letters, '_' and digits (projects_v2_item), starting with a letter")
		}
	}
	return nil
}

func validateDeliveryID(s string) error {
	if s == "" {
		return errors.New("missing " + headerDelivery + " header")
	}
	if len(s) > maxHeaderValue {
		return fmt.Errorf("%s is longer than %d characters", headerDelivery, maxHeaderValue)
	}
	if !printable(s) {
		return errors.New(headerDelivery + " must contain only printable ASCII characters without spaces")
	}
	return nil
}

// printable reports whether s is made only of visible ASCII characters
// ('!' to '~').
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func optionalHeader(s string) string {
	if len(s) > maxHeaderValue || !printable(s) {
		return ""
	}
	return s
}

// bodyFormat is how the payload travels in the request body.
type bodyFormat int

const (
	formatJSON bodyFormat = iota + 1
	formatForm
)

// parseContentType accepts application/json and
// application/x-www-form-urlencoded, with any parameters (such as charset).
func parseContentType(ct string) (bodyFormat, error) {
	switch ct { // what GitHub sends, without parsing
	case "application/json":
		return formatJSON, nil
	case "application/x-www-form-urlencoded":
		return formatForm, nil
	}
	if ct == "" {
		return 0, errors.New("missing Content-Type header (application/json or application/x-www-form-urlencoded)")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, errors.New("malformed Content-Type header")
	}
	switch mt {
	case "application/json":
		return formatJSON, nil
	case "application/x-www-form-urlencoded":
		return formatForm, nil
	}
	return 0, errors.New("unsupported Content-Type (application/json or application/x-www-form-urlencoded)")
}

// formPayload returns the JSON payload of a form-encoded delivery: the value
// of its single "payload" field.
func formPayload(body []byte) ([]byte, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("malformed form body")
	}
	p, ok := vals["payload"]
	if !ok || len(p) != 1 {
		return nil, errors.New("form body must carry exactly one payload field")
	}
	return []byte(p[0]), nil
}
