package event

import (
	"strings"
	"testing"
	"time"
)

func TestKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event, action string
		merged        bool
		want          string
	}{
		{"pull_request", "closed", true, "pull_request.merged"},
		{"pull_request", "closed", false, "pull_request.closed"},
		{"pull_request", "opened", false, "pull_request.opened"},
		{"issues", "closed", true, "issues.closed"},
		{"push", "", false, "push.pushed"},
		{"deployment_status", "", false, "deployment_status.created"},
		{"deployment_status", "created", false, "deployment_status.created"},
		{"ping", "", false, "ping.received"},
		{"brand_new_event", "", false, "brand_new_event.received"},
	}
	for _, tt := range tests {
		if got := Kind(tt.event, tt.action, tt.merged); got != tt.want {
			t.Errorf("Kind(%q, %q, %v) = %q, want %q", tt.event, tt.action, tt.merged, got, tt.want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	e := &Event{
		SpecVersion: SpecVersion, ID: ID("d1", "issues.opened"), Source: "https://github.com/acme/api",
		Type: Type("issues.opened"), Subject: "acme/api#1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		DataContentType: ContentType,
		Data:            Data{Kind: "issues.opened", Event: "issues", Action: "opened", DeliveryID: "d1", Actor: Actor{Login: "octocat"}},
	}
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"specversion":"1.0"`, `"type":"com.github.issues.opened"`, `"id":"d1/issues.opened"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || back.Data.Actor.Login != "octocat" || !back.Time.Equal(e.Time) {
		t.Fatalf("round trip = %+v", back)
	}
	if _, err := Unmarshal([]byte(`{"specversion":"1.0"}`)); err == nil {
		t.Fatal("Unmarshal accepted an event without id")
	}
	if _, err := Unmarshal([]byte(`{`)); err == nil {
		t.Fatal("Unmarshal accepted broken JSON")
	}
}
