// Package hooksign signs a JSON payload and builds every header of a GitHub
// webhook delivery, as GitHub sends it. `ghnotify send` and the chaos suite
// use it to talk to the gateway exactly as GitHub would.
package hooksign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"strconv"
)

// Params describe one delivery to sign.
type Params struct {
	Event      string
	DeliveryID string
	HookID     string
	Secret     []byte
	Form       bool
}

// Delivery is the body and headers of a delivery as GitHub sends it.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Sign builds the body and all of GitHub's headers for a JSON payload: JSON
// or form-encoded body, both signatures over the exact body, the delivery
// id and the hook's installation target taken from the payload.
func Sign(payload []byte, p Params) (Delivery, error) {
	if !json.Valid(payload) {
		return Delivery{}, errors.New("the payload is not valid JSON")
	}
	body, contentType := payload, "application/json"
	if p.Form {
		body = []byte(url.Values{"payload": {string(payload)}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	}
	targetType, targetID := InstallationTarget(payload)
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "GitHub-Hookshot/ghnotify-send")
	h.Set("X-GitHub-Event", p.Event)
	h.Set("X-GitHub-Delivery", p.DeliveryID)
	h.Set("X-GitHub-Hook-ID", p.HookID)
	h.Set("X-GitHub-Hook-Installation-Target-Type", targetType)
	h.Set("X-GitHub-Hook-Installation-Target-ID", targetID)
	h.Set("X-Hub-Signature-256", "sha256="+HexMAC(sha256.New, p.Secret, body))
	h.Set("X-Hub-Signature", "sha1="+HexMAC(sha1.New, p.Secret, body))
	return Delivery{Header: h, Body: body}, nil
}

// HexMAC returns the hex HMAC of body under key.
func HexMAC(newHash func() hash.Hash, key, body []byte) string {
	mac := hmac.New(newHash, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// InstallationTarget returns the hook's installation target as GitHub
// reports it: the repository of a repository hook, else the organization of
// an organization hook. Payloads naming neither give ("repository", "0").
func InstallationTarget(payload []byte) (kind, id string) {
	var p struct {
		Repository *struct {
			ID int64 `json:"id"`
		} `json:"repository"`
		Organization *struct {
			ID int64 `json:"id"`
		} `json:"organization"`
	}
	if err := json.Unmarshal(payload, &p); err == nil {
		switch {
		case p.Repository != nil && p.Repository.ID != 0:
			return "repository", strconv.FormatInt(p.Repository.ID, 10)
		case p.Organization != nil && p.Organization.ID != 0:
			return "organization", strconv.FormatInt(p.Organization.ID, 10)
		}
	}
	return "repository", "0"
}
