package delivery

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestMsgRoundTrip(t *testing.T) {
	t.Parallel()
	d := Delivery{
		Event: "pull_request", ID: "d-1", HookID: "42", TargetType: "repository", TargetID: "7",
		BodyKey: "def", SHA256: "abc", ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Body: []byte(`{}`),
	}
	m := d.Msg()
	if m.Subject != "github.raw.pull_request" {
		t.Errorf("subject = %q", m.Subject)
	}
	if m.Header.Get("Nats-Msg-Id") != "d-1" {
		t.Errorf("Nats-Msg-Id = %q", m.Header.Get("Nats-Msg-Id"))
	}
	back, err := FromMsg(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Event != d.Event || back.ID != d.ID || back.HookID != d.HookID || back.TargetType != d.TargetType ||
		back.TargetID != d.TargetID || back.BodyKey != d.BodyKey || back.SHA256 != d.SHA256 || !back.ReceivedAt.Equal(d.ReceivedAt) || string(back.Body) != "{}" {
		t.Fatalf("round trip = %+v, want %+v", back, d)
	}
}

func TestFromMsgRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]nats.Header{
		"no event":      {HeaderDelivery: {"d"}},
		"no delivery":   {HeaderEvent: {"push"}},
		"bad timestamp": {HeaderEvent: {"push"}, HeaderDelivery: {"d"}, HeaderReceivedAt: {"yesterday"}},
	}
	for name, h := range tests {
		if _, err := FromMsg(h, nil); err == nil {
			t.Errorf("%s: FromMsg succeeded", name)
		}
	}
}

// TestMsgHeaderValuesIndependent checks that the header values Msg writes,
// which share one backing array, stay apart when one header is added to.
func TestMsgHeaderValuesIndependent(t *testing.T) {
	t.Parallel()
	d := Delivery{Event: "issues", ID: "d-1", HookID: "42", BodyKey: "ab", ReceivedAt: time.Unix(1, 0)}
	m := d.Msg()
	m.Header.Add(HeaderEvent, "extra")
	m.Header.Add(HeaderDelivery, "other")
	if got := m.Header.Values(HeaderEvent); len(got) != 2 || got[0] != "issues" || got[1] != "extra" {
		t.Fatalf("%s = %q", HeaderEvent, got)
	}
	if m.Header.Get(HeaderHookID) != "42" || m.Header.Get(HeaderBodyKey) != "ab" || m.Header.Get("Nats-Msg-Id") != "d-1" ||
		m.Header.Values(HeaderDelivery)[0] != "d-1" {
		t.Fatalf("headers changed by an append to another: %v", m.Header)
	}
	if _, ok := m.Header[HeaderTargetType]; ok {
		t.Fatalf("empty optional header written: %v", m.Header)
	}
}
