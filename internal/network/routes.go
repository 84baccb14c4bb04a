package network

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes fargo adds (the "proto" column of
// `ip route`), so that it finds and removes its own and never another's.
const RouteProtocol netlink.RouteProtocol = 0x66

// SyncRoutes makes the host's routes to other hosts' pod blocks exactly
// want (block -> the other host's address): missing ones are added,
// changed ones replaced, and fargo's routes to blocks no longer wanted
// removed. A block of this host's own is refused. On one L2 segment the
// other hosts' addresses are direct neighbours; a routed network needs
// the same routes in its routers (README).
func (n *Network) SyncRoutes(want map[netip.Prefix]netip.Addr) error {
	for block := range want {
		for _, own := range n.cfg.PodCIDRs {
			if block.Overlaps(own) {
				return fmt.Errorf("network: route to %v overlaps this host's pod block %v: give each host its own --pod-cidr", block, own)
			}
		}
	}
	h, err := n.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	have, err := n.ownRoutes(h)
	if err != nil {
		return err
	}
	local, err := localAddrs(h)
	if err != nil {
		return err
	}
	// A host whose address is this machine's shares its network namespace
	// (tests; several hosts on one machine): its bridge already routes.
	want = maps.Clone(want)
	maps.DeleteFunc(want, func(_ netip.Prefix, via netip.Addr) bool { return local[via] })
	var errs []error
	for _, r := range have {
		block, _ := netip.ParsePrefix(r.Dst.String())
		if via, ok := want[block]; !ok || !r.Gw.Equal(net.IP(via.AsSlice())) {
			if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("network: remove route to %v: %w", block, err))
			}
		}
	}
	for block, via := range want {
		r := &netlink.Route{Dst: ipNet(block), Gw: net.IP(via.AsSlice()), Protocol: RouteProtocol}
		if err := h.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("network: route to %v via %v (is %v reachable from this host?): %w", block, via, via, err))
		}
	}
	return errors.Join(errs...)
}

// Routes returns fargo's routes on this host: block -> next hop.
func (n *Network) Routes() (map[netip.Prefix]netip.Addr, error) {
	h, err := n.hostHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	have, err := n.ownRoutes(h)
	if err != nil {
		return nil, err
	}
	out := map[netip.Prefix]netip.Addr{}
	for _, r := range have {
		block, _ := netip.ParsePrefix(r.Dst.String())
		via, _ := netip.AddrFromSlice(r.Gw.To4())
		out[block] = via
	}
	return out, nil
}

// localAddrs are the IPv4 addresses of this host's links.
func localAddrs(h *netlink.Handle) (map[netip.Addr]bool, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("network: list addresses: %w", err)
	}
	out := map[netip.Addr]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			out[ip] = true
		}
	}
	return out, nil
}

// ownRoutes lists the IPv4 routes with RouteProtocol in the main table.
func (n *Network) ownRoutes(h *netlink.Handle) ([]netlink.Route, error) {
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("network: list routes: %w", err)
	}
	return slices.DeleteFunc(routes, func(r netlink.Route) bool { return r.Dst == nil }), nil
}
