package scheduler

import (
	"net/netip"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// candidate is a usable host as the decision sees it: what is left of it
// after the pod-nodes and reservations on it, and how many pods of the
// pod's controller owner already run in its zone.
type candidate struct {
	name      string
	zone      string
	freeMilli int64
	freeMiB   int64
	spread    int
}

func (c candidate) fits(size sizing.Size) bool {
	return c.freeMilli >= size.MilliCPU && c.freeMiB >= size.MemoryMiB
}

// rankHosts keeps the hosts size fits on and orders them: fewest pods of
// the same owner in the zone first (spreading a Deployment over zones, as
// EKS does over its subnets), then most free memory (memory, not cpu, is
// what runs out on Fargate sizes), then name so that the order is stable.
func rankHosts(cands []candidate, size sizing.Size) []candidate {
	out := make([]candidate, 0, len(cands))
	for _, c := range cands {
		if c.fits(size) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.spread != b.spread {
			return a.spread < b.spread
		}
		if a.freeMiB != b.freeMiB {
			return a.freeMiB > b.freeMiB
		}
		return a.name < b.name
	})
	return out
}

// ipRange is a span of addresses a pod may get from one of a host's
// blocks: the whole block, or the part of it a profile subnet covers.
type ipRange struct {
	block netip.Prefix // the host's pod CIDR, for its reserved addresses
	span  netip.Prefix
}

// ipRanges intersects a host's pod CIDRs with a profile's subnets; no
// subnets means the whole blocks. CIDRs either nest or are disjoint, so the
// intersection of two is the longer one or nothing. Only IPv4 counts:
// pod-node names encode IPv4 addresses.
func ipRanges(podCIDRs, subnets []string) []ipRange {
	var out []ipRange
	for _, b := range parsePrefixes(podCIDRs) {
		if len(subnets) == 0 {
			out = append(out, ipRange{block: b, span: b})
			continue
		}
		for _, s := range parsePrefixes(subnets) {
			switch {
			case s.Bits() >= b.Bits() && b.Contains(s.Addr()):
				out = append(out, ipRange{block: b, span: s})
			case b.Bits() > s.Bits() && s.Contains(b.Addr()):
				out = append(out, ipRange{block: b, span: b})
			}
		}
	}
	return out
}

// parsePrefixes reads IPv4 CIDRs, masked; what does not parse is left out
// (validation of profiles and hosts is not the scheduler's job).
func parsePrefixes(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is4() {
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

// freeIP returns the first address of r that is not taken, skipping the
// block's network and broadcast addresses and its first usable address,
// the host's gateway for the block.
func (r ipRange) freeIP(taken func(netip.Addr) bool) (netip.Addr, bool) {
	network := r.block.Addr()
	gateway := network.Next()
	broadcast := lastAddr(r.block)
	end := lastAddr(r.span)
	for ip := r.span.Addr(); ip.IsValid(); ip = ip.Next() {
		if ip != network && ip != gateway && ip != broadcast && !taken(ip) {
			return ip, true
		}
		if ip == end {
			break
		}
	}
	return netip.Addr{}, false
}

// lastAddr is the highest address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// placement is what a decision needs to reserve a node.
type placement struct {
	pod     *corev1.Pod
	owner   types.UID
	size    sizing.Size
	subnets []string
	tier    string // the kind of sandbox the pod asks for; "" for any
	now     time.Time
	ttl     time.Duration
	region  string
}

// reserve picks a host and an IP for p and records the reservation, all
// under one lock; ok is false when no usable host has both room and a free
// address in the pod's subnets.
func (a *accounts) reserve(p placement) (nodeRecord, *v1.Host, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	taken := func(ip netip.Addr) bool { _, used := a.ips[ip]; return used }
	for _, c := range rankHosts(a.candidates(p.owner, p.now, p.ttl), p.size) {
		h := a.hosts[c.name]
		tier, offered := hostTier(h, p.tier)
		if !offered {
			continue
		}
		for _, r := range ipRanges(h.Spec.PodCIDRs, p.subnets) {
			ip, ok := r.freeIP(taken)
			if !ok {
				continue
			}
			rec := nodeRecord{
				name: podnode.Name(ip, p.region), host: h.Name, zone: h.Spec.Zone, ip: ip, size: p.size,
				pod:   podnode.PodRef{Namespace: p.pod.Namespace, Name: p.pod.Name, UID: p.pod.UID},
				owner: p.owner, tier: tier,
			}
			a.add(rec)
			return rec, h, true
		}
	}
	return nodeRecord{}, nil, false
}

// candidates lists the usable hosts, heartbeat fresh at now and not being
// deleted, with what is free on them; a.mu is held.
func (a *accounts) candidates(owner types.UID, now time.Time, ttl time.Duration) []candidate {
	var out []candidate
	for name, h := range a.hosts {
		renew, ok := a.renewed[name]
		if !ok || !renew.Add(ttl).After(now) || h.DeletionTimestamp != nil {
			continue
		}
		used := a.used[name]
		out = append(out, candidate{
			name:      name,
			zone:      h.Spec.Zone,
			freeMilli: h.Spec.Allocatable.Cpu().MilliValue() - used.MilliCPU,
			freeMiB:   h.Spec.Allocatable.Memory().Value()>>20 - used.MemoryMiB,
			spread:    a.zones[owner][h.Spec.Zone],
		})
	}
	return out
}
