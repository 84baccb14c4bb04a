package loadbalancer

import (
	"net/netip"
	"testing"
)

func TestSpan(t *testing.T) {
	for _, tc := range []struct{ prefix, first, last string }{
		{"192.0.2.0/24", "192.0.2.1", "192.0.2.254"},
		{"192.0.2.77/24", "192.0.2.1", "192.0.2.254"}, // host bits ignored
		{"192.0.2.4/30", "192.0.2.5", "192.0.2.6"},
		{"192.0.2.4/31", "192.0.2.4", "192.0.2.5"},
		{"192.0.2.9/32", "192.0.2.9", "192.0.2.9"},
		{"10.0.0.0/8", "10.0.0.1", "10.255.255.254"},
		{"2001:db8::/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/127", "2001:db8::", "2001:db8::1"},
		{"2001:db8::5/128", "2001:db8::5", "2001:db8::5"},
	} {
		first, last := span(netip.MustParsePrefix(tc.prefix))
		if first.String() != tc.first || last.String() != tc.last {
			t.Errorf("span(%s) = %s..%s, want %s..%s", tc.prefix, first, last, tc.first, tc.last)
		}
	}
}

func TestPoolContains(t *testing.T) {
	p := newPool(prefixes("192.0.2.0/30", "198.51.100.7/32", "::ffff:203.0.113.0/120"))
	for addr, want := range map[string]bool{
		"192.0.2.0":    false, // network
		"192.0.2.1":    true,
		"192.0.2.2":    true,
		"192.0.2.3":    false, // broadcast
		"198.51.100.7": true,
		"198.51.100.8": false,
		"203.0.113.9":  true, // the 4in6 prefix is taken as IPv4
		"10.0.0.1":     false,
	} {
		if got := p.contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if got, want := p.String(), "192.0.2.0/30, 198.51.100.7/32, 203.0.113.0/24"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestPoolFirstInHugePrefix checks that the search ends quickly in a /64
// that the first addresses are taken from, and stops at the end of a /32.
func TestPoolFirstInHugePrefix(t *testing.T) {
	p := newPool(prefixes("2001:db8::/64"))
	any := func(netip.Addr) bool { return true }
	taken := map[netip.Addr]bool{netip.MustParseAddr("2001:db8::1"): true, netip.MustParseAddr("2001:db8::2"): true}
	a, ok := p.first(any, func(a netip.Addr) bool { return !taken[a] })
	if !ok || a.String() != "2001:db8::3" {
		t.Errorf("first = %s, %v; want 2001:db8::3", a, ok)
	}
	last := newPool(prefixes("255.255.255.255/32"))
	if a, ok := last.first(any, func(netip.Addr) bool { return false }); ok {
		t.Errorf("first in a full /32 = %s, want none", a)
	}
}
