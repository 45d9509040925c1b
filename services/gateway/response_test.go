package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

var responseCases = []response{
	{Status: "stored", Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
	{Status: "duplicate", Delivery: "d-1", Reason: ReasonBody},
	{Status: "refused", Error: "missing X-GitHub-Event header"},
	{Status: "refused", Error: `quote " backslash \ <tag> & amp`},
	{Status: "refused", Error: "control \x01\n\t and non-ASCII é \u2028 and invalid \xff"},
	{Status: "unavailable", Error: "storage unavailable; retry later"},
	{Status: ""},
}

// TestResponseEncodedAsEncodingJSON: answers are written by hand, and must
// be byte for byte what encoding/json.Marshal wrote before.
func TestResponseEncodedAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, v := range responseCases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%+v) = %s, want %s", v, got, want)
		}
	}
}

func FuzzResponseJSON(f *testing.F) {
	for _, v := range responseCases {
		f.Add(v.Status, v.Delivery, v.Reason, v.Error)
	}
	f.Fuzz(func(t *testing.T, status, deliveryID, reason, msg string) {
		v := response{Status: status, Delivery: deliveryID, Reason: reason, Error: msg}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%+v) = %s, want %s", v, got, want)
		}
	})
}

// TestRequestHeaderMatchesHeaderGet: the handler's header reads by
// canonical key answer what http.Header.Get does, for every header it reads.
func TestRequestHeaderMatchesHeaderGet(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, WebhookPath, nil)
	keys := []string{headerEvent, headerDelivery, headerHookID, headerTargetType, headerTargetID,
		headerSignature256, headerSignatureSHA1, "Content-Type", "User-Agent"}
	for i, k := range keys {
		if got := requestHeader(r.Header).Get(k); got != "" {
			t.Errorf("%s absent: got %q", k, got)
		}
		r.Header.Add(k, "value-"+k)
		r.Header.Add(k, "second")
		if got, want := requestHeader(r.Header).Get(k), r.Header.Get(k); got != want || got != "value-"+k {
			t.Errorf("header %d %s: got %q, http.Header.Get %q", i, k, got, want)
		}
	}
}

// TestRoutesBesideTheWebhook: the webhook's fast path leaves every other
// request to the router: other paths 404, other methods 405, probes 200.
func TestRoutesBesideTheWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, WebhookPath, http.StatusMethodNotAllowed},
		{http.MethodPut, WebhookPath, http.StatusMethodNotAllowed},
		{http.MethodPost, WebhookPath + "/", http.StatusNotFound},
		{http.MethodPost, "/webhooks/GitHub", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
	if len(f.store.published) != 0 {
		t.Errorf("%d deliveries stored by requests that are not webhooks", len(f.store.published))
	}
}
