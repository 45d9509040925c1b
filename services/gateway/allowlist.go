package gateway

import (
	"fmt"
	"net/netip"
	"strings"
)

// Allowlist decides which clients may deliver webhooks: an optional list of
// CIDR ranges (GitHub publishes its hook ranges at
// https://api.github.com/meta, key "hooks"), and the proxies whose
// X-Forwarded-For header is believed.
type Allowlist struct {
	allowed []netip.Prefix
	trusted []netip.Prefix
}

// NewAllowlist parses the allowed client ranges and the trusted proxy ranges.
// A bare address counts as a single-address range. An empty allowed list
// admits every client.
func NewAllowlist(allowed, trustedProxies []string) (*Allowlist, error) {
	a := &Allowlist{}
	var err error
	if a.allowed, err = parsePrefixes(allowed); err != nil {
		return nil, fmt.Errorf("parsing allowed client ranges: %w", err)
	}
	if a.trusted, err = parsePrefixes(trustedProxies); err != nil {
		return nil, fmt.Errorf("parsing trusted proxy ranges: %w", err)
	}
	return a, nil
}

func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			addr, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR range nor an address", s)
			}
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR range", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Enabled reports whether the allowlist restricts anything.
func (a *Allowlist) Enabled() bool { return a != nil && len(a.allowed) > 0 }

// ClientIP returns the address of the client that sent a request arriving
// from remoteAddr (host:port) with the given X-Forwarded-For values. Only
// when the peer is a trusted proxy is X-Forwarded-For read, right to left,
// skipping further trusted proxies: the first untrusted address is the
// client. Addresses a client wrote itself (left of it) are never believed.
func (a *Allowlist) ClientIP(remoteAddr string, forwardedFor []string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remoteAddr)
	var peer netip.Addr
	if err == nil {
		peer = ap.Addr().Unmap()
	} else if peer, err = netip.ParseAddr(remoteAddr); err != nil {
		return netip.Addr{}, false
	}
	peer = peer.Unmap()
	if !contains(a.trusted, peer) {
		return peer, true
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(forwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				// A hop that is not an address hides who the client
				// is: refuse to name one.
				return netip.Addr{}, false
			}
			client = hop.Unmap()
			if !contains(a.trusted, client) {
				return client, true
			}
		}
	}
	return client, true
}

// Allows reports whether a request from remoteAddr with the given
// X-Forwarded-For values may deliver webhooks.
func (a *Allowlist) Allows(remoteAddr string, forwardedFor []string) bool {
	if !a.Enabled() {
		return true
	}
	ip, ok := a.ClientIP(remoteAddr, forwardedFor)
	return ok && contains(a.allowed, ip)
}

func contains(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
