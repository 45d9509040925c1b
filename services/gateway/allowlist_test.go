package gateway

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	t.Parallel()
	a, err := NewAllowlist(
		[]string{"192.30.252.0/22", "2a0a:a440::/29", "203.0.113.7"},
		[]string{"10.0.0.0/8", "::1"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   bool
	}{
		{"github range direct", "192.30.252.10:443", nil, true},
		{"github ipv6 direct", "[2a0a:a440::1]:443", nil, true},
		{"single address", "203.0.113.7:5000", nil, true},
		{"ipv4-mapped ipv6", "[::ffff:192.30.252.10]:443", nil, true},
		{"outside", "198.51.100.1:443", nil, false},
		{"untrusted peer forging xff", "198.51.100.1:443", []string{"192.30.252.10"}, false},
		{"trusted proxy forwarding github", "10.1.2.3:443", []string{"192.30.252.10"}, true},
		{"trusted proxy forwarding outsider", "10.1.2.3:443", []string{"198.51.100.1"}, false},
		{"client-written hop left of real client ignored", "10.1.2.3:443", []string{"192.30.252.10, 198.51.100.1"}, false},
		{"chain of trusted proxies", "10.1.2.3:443", []string{"192.30.252.10, 10.9.9.9", "10.8.8.8"}, true},
		{"garbage hop", "10.1.2.3:443", []string{"not-an-ip"}, false},
		{"trusted proxy without xff is the client", "10.1.2.3:443", nil, false},
		{"unparsable remote", "nonsense", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Allows(tt.remote, tt.xff); got != tt.want {
				t.Fatalf("Allows(%q, %q) = %v, want %v", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestAllowlistDisabledAllowsAll(t *testing.T) {
	t.Parallel()
	a, err := NewAllowlist(nil, []string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Enabled() || !a.Allows("198.51.100.1:1", nil) {
		t.Fatal("an empty allowlist must admit every client")
	}
}

func TestAllowlistRejectsBadRanges(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{{"10.0.0.0/33"}, {"example.com"}, {"1.2.3.4/x"}} {
		if _, err := NewAllowlist(bad, nil); err == nil {
			t.Errorf("NewAllowlist(%q) accepted", bad)
		}
		if _, err := NewAllowlist(nil, bad); err == nil {
			t.Errorf("NewAllowlist(trusted %q) accepted", bad)
		}
	}
}

// FuzzClientIP feeds arbitrary peers and X-Forwarded-For values to the
// client address logic: an untrusted peer is always the client, whatever
// the header says, and a client named through a trusted proxy is the peer
// or one of the header's hops.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3:443", "192.30.252.10, 198.51.100.1")
	f.Add("198.51.100.1:443", "192.30.252.10")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:192.30.252.1,10.9.9.9")
	f.Add("10.1.2.3:443", "not-an-ip")
	f.Add("nonsense", "")
	a, err := NewAllowlist([]string{"192.30.252.0/22"}, []string{"10.0.0.0/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got, ok := a.ClientIP(remote, []string{xff})
		peer, perr := netip.ParseAddrPort(remote)
		if perr != nil || !ok {
			return
		}
		if !contains(a.trusted, peer.Addr().Unmap()) {
			if got != peer.Addr().Unmap() {
				t.Fatalf("ClientIP(%q, %q) = %s, want the untrusted peer", remote, xff, got)
			}
			return
		}
		if got == peer.Addr().Unmap() {
			return
		}
		for _, hop := range strings.Split(xff, ",") {
			if h, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && h.Unmap() == got {
				return
			}
		}
		t.Fatalf("ClientIP(%q, %q) = %s, neither the peer nor a hop", remote, xff, got)
	})
}
