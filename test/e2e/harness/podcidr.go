package harness

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
)

// defaultPodCIDR is fargo up's pod range.
const defaultPodCIDR = "10.42.0.0/16"

// FreePodCIDR is a /16 that no address or route of this network namespace
// overlaps: fargo's default when free, else a random one in 10.100-199,
// away from the ranges tests give other hosts. A leftover bridge (a
// user's fargo up, a crashed test) then never shares a test's range.
func FreePodCIDR(t testing.TB) string {
	t.Helper()
	used := usedPrefixes(t)
	candidates := []netip.Prefix{netip.MustParsePrefix(defaultPodCIDR)}
	for range 50 {
		candidates = append(candidates, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + rand.IntN(100)), 0, 0}), 16))
	}
	for _, c := range candidates {
		if !overlapsAny(c, used) {
			return c.String()
		}
	}
	t.Fatalf("no free /16 for pods: every candidate overlaps one of %v", used)
	return ""
}

// usedPrefixes are the destinations of this namespace's IPv4 routes
// (default routes aside) and its addresses' subnets.
func usedPrefixes(t testing.TB) []netip.Prefix {
	t.Helper()
	var used []netip.Prefix
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("listing addresses: %v", err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IP, a.Mask); ok {
			used = append(used, p)
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("listing routes: %v", err)
	}
	for _, r := range routes {
		if r.Dst != nil {
			if p, ok := prefixOf(r.Dst.IP, r.Dst.Mask); ok && p.Bits() > 0 {
				used = append(used, p)
			}
		}
	}
	return used
}

func prefixOf(ip net.IP, mask net.IPMask) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok || mask == nil {
		return netip.Prefix{}, false
	}
	ones, _ := mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones).Masked(), true
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}
