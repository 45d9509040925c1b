package loadtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestPayload(t *testing.T) {
	t.Parallel()
	for _, size := range []int{2 << 10, 7 << 10, 32 << 10} {
		p, slot := Payload(size)
		if len(p) < size || len(p) > size+16 || !json.Valid(p) {
			t.Fatalf("Payload(%d): %d bytes, valid=%v", size, len(p), json.Valid(p))
		}
		if string(p[slot:slot+seqWidth]) != "000000000000" {
			t.Fatalf("slot at %d holds %q", slot, p[slot:slot+seqWidth])
		}
	}
}

func TestRunSendsUniqueSignedDeliveries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ids, bodies := map[string]bool{}, map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s"))
		mac.Write(b)
		if r.Header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || !json.Valid(b) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("X-GitHub-Delivery")
		if ids[id] || bodies[string(b)] {
			w.WriteHeader(http.StatusOK)
			return
		}
		ids[id], bodies[string(b)] = true, true
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	p, slot := Payload(1 << 10)
	r, err := Run(context.Background(), Options{URL: srv.URL, Secret: "s", Conns: 4, Duration: 300 * time.Millisecond, Template: p, Slot: slot, IDPrefix: "t-"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Requests cut off by the end of the run may have reached the server
	// without their answer being counted: at most one per connection.
	if r.Requests == 0 || len(ids) < r.Requests || len(ids) > r.Requests+4 || r.P50 > r.P99 {
		t.Fatalf("result %+v, server saw %d deliveries", r, len(ids))
	}
}
