package subject

import (
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"acme", "acme"},
		{"Acme-Corp", "acme-corp"},
		{"socket.io", "socket%2Eio"},
		{"my_repo", "my_repo"},
		{".github", "%2Egithub"},
		{"a*b>c d", "a%2Ab%3Ec%20d"},
		{"100%", "100%25"},
		{"", ""},
	}
	for _, tt := range tests {
		got := Encode(tt.in)
		if got != tt.want {
			t.Errorf("Encode(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := Decode(got)
		if err != nil {
			t.Errorf("Decode(%q): %v", got, err)
		}
		if back != strings.ToLower(tt.in) {
			t.Errorf("Decode(Encode(%q)) = %q", tt.in, back)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"a.b", "%2", "%zz", "%61", "%41", "A", "a b"} {
		if _, err := Decode(tok); err == nil {
			t.Errorf("Decode(%q) succeeded, want error", tok)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	s := Event("Socket.IO", "socket.io-client", "pull_request", "merged")
	if want := "github.event.socket%2Eio.socket%2Eio-client.pull_request.merged"; s != want {
		t.Fatalf("Event = %q, want %q", s, want)
	}
	if !Valid(s) {
		t.Fatalf("%q is not a valid subject", s)
	}
	p, err := ParseEvent(s)
	if err != nil {
		t.Fatal(err)
	}
	if p != (EventParts{"socket.io", "socket.io-client", "pull_request", "merged"}) {
		t.Fatalf("ParseEvent = %+v", p)
	}
	org := Event("acme", "", "organization", "member_added")
	p, err = ParseEvent(org)
	if err != nil || p.Repo != "" || p.Owner != "acme" {
		t.Fatalf("ParseEvent(%q) = %+v, %v", org, p, err)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"acme", "socket.io", "a*b", "%", "Ünïcode", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := Encode(s)
		if s != "" && !ValidToken(tok) {
			t.Fatalf("Encode(%q) = %q is not a valid token", s, tok)
		}
		back, err := Decode(tok)
		if err != nil {
			t.Fatalf("Decode(Encode(%q)=%q): %v", s, tok, err)
		}
		if back != strings.ToLower(s) {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}
