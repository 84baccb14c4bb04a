package loadbalancer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fromPool gives every Service one address of p. Services keep the address
// they have before any other is placed, so that a newcomer never takes an
// address a running Service serves on, whatever their ages.
func fromPool(svcs []*corev1.Service, p pool) map[types.NamespacedName]Outcome {
	byPriority(svcs, func(*corev1.Service) bool { return false })
	out := make(map[types.NamespacedName]Outcome, len(svcs))
	c := claims{}
	var rest []*corev1.Service
	for _, s := range svcs {
		a, ok := kept(s, p, c)
		if !ok {
			rest = append(rest, s)
			continue
		}
		c.take(a, portsOf(s), keyOf(s))
		out[keyOf(s)] = Outcome{Addresses: []netip.Addr{a}}
	}
	for _, s := range rest {
		out[keyOf(s)] = poolOutcome(s, p, c)
	}
	return out
}

// kept is the address of s's status that s may keep: in the pool, of its
// family, the one it asks for if it asks for one, and without conflicts.
func kept(s *corev1.Service, p pool, c claims) (netip.Addr, bool) {
	want, _ := netip.ParseAddr(s.Spec.LoadBalancerIP)
	for _, a := range statusAddresses(s) {
		if !p.contains(a) || !familyOK(s, a) || (s.Spec.LoadBalancerIP != "" && a != want.Unmap()) {
			continue
		}
		if _, taken := c.conflict(a, portsOf(s)); !taken {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// poolOutcome places a Service that keeps no address: on the one it asks
// for, else on the first address free for all its ports.
func poolOutcome(s *corev1.Service, p pool, c claims) Outcome {
	if s.Spec.LoadBalancerIP != "" {
		return requested(s, p, c)
	}
	if !slices.ContainsFunc(p, func(pr netip.Prefix) bool { return familyOK(s, pr.Addr()) }) {
		return Outcome{Problem: fmt.Sprintf("the address pool %s has no %s, which the Service's ipFamilies ask for", p, strings.TrimPrefix(familyWords(s), "an "))}
	}
	ports := portsOf(s)
	a, ok := p.first(func(a netip.Addr) bool { return familyOK(s, a) }, func(a netip.Addr) bool {
		_, taken := c.conflict(a, ports)
		return !taken
	})
	if !ok {
		return Outcome{Problem: fmt.Sprintf("no address of the pool %s is free for %s; the Service stays pending until one is", p, portsString(ports))}
	}
	c.take(a, ports, keyOf(s))
	return Outcome{Addresses: []netip.Addr{a}}
}

// requested places s on its spec.loadBalancerIP, or says why it cannot: a
// user who asked for an address (and may have put it in DNS) must not get
// another one.
func requested(s *corev1.Service, p pool, c claims) Outcome {
	a, err := netip.ParseAddr(s.Spec.LoadBalancerIP)
	if err != nil || !p.contains(a.Unmap()) {
		return Outcome{Problem: fmt.Sprintf("loadBalancerIP %s is not in the address pool %s; choose one in the pool or unset it", s.Spec.LoadBalancerIP, p)}
	}
	a = a.Unmap()
	if !familyOK(s, a) {
		return Outcome{Problem: fmt.Sprintf("loadBalancerIP %s is not of the Service's ipFamilies; choose %s", a, familyWords(s))}
	}
	ports := portsOf(s)
	if msg, taken := c.conflict(a, ports); taken {
		return Outcome{Problem: msg}
	}
	c.take(a, ports, keyOf(s))
	return Outcome{Addresses: []netip.Addr{a}}
}

// pool is the configured address pool, its prefixes in the order their
// addresses are given out.
type pool []netip.Prefix

func newPool(prefixes []netip.Prefix) pool {
	p := make(pool, 0, len(prefixes))
	for _, pr := range prefixes {
		if pr.Addr().Is4In6() && pr.Bits() >= 96 {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		p = append(p, pr.Masked())
	}
	return p
}

func (p pool) String() string {
	s := make([]string, len(p))
	for i, pr := range p {
		s[i] = pr.String()
	}
	return strings.Join(s, ", ")
}

// contains tells whether a is an address the pool gives out.
func (p pool) contains(a netip.Addr) bool {
	for _, pr := range p {
		first, last := span(pr)
		if pr.Contains(a) && a.Compare(first) >= 0 && a.Compare(last) <= 0 {
			return true
		}
	}
	return false
}

// first is the first address, in prefixes for which family holds, that is
// free. It ends after at most one address per Service in the way, however
// large the prefixes: an address is only ever not free because a Service
// holds it.
func (p pool) first(family, free func(netip.Addr) bool) (netip.Addr, bool) {
	for _, pr := range p {
		if !family(pr.Addr()) {
			continue
		}
		first, last := span(pr)
		for a := first; a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
			if free(a) {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// span is the first and last address of pr that can be given out: not the
// network and broadcast addresses of an IPv4 prefix shorter than /31, nor
// the subnet-router anycast address of an IPv6 prefix shorter than /127,
// which routers and hosts answer for themselves.
func span(pr netip.Prefix) (first, last netip.Addr) {
	first, last = pr.Masked().Addr(), lastAddr(pr)
	switch {
	case first.Is4() && pr.Bits() < 31:
		first, last = first.Next(), last.Prev()
	case first.Is6() && pr.Bits() < 127:
		first = first.Next()
	}
	return first, last
}

// lastAddr is pr's address with every host bit set.
func lastAddr(pr netip.Prefix) netip.Addr {
	b := pr.Masked().Addr().AsSlice()
	for i := pr.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
