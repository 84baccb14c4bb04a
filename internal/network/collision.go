package network

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// checkCollisions refuses a pod range that an address or route of the
// host already covers, on any device but this host's bridge: another
// fargo's bridge left running, a VPN, a container runtime's network. Two
// devices owning one range make the kernel pick one route, and the other
// side's pods silently stop answering. Routes fargo keeps to other hosts'
// pod blocks (RouteProtocol) and default routes are not collisions.
func (n *Network) checkCollisions(h *netlink.Handle) error {
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("network: list links: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	taken := func(p netip.Prefix, index int, what string) error {
		name := names[index]
		if name == n.cfg.Bridge || name == n.carrierPortName() {
			return nil
		}
		for _, block := range n.cfg.PodCIDRs {
			if block.Overlaps(p) {
				return fmt.Errorf("pod range %s overlaps %s %s on %s, which is not this host's bridge %s: if another fargo left it, stop it with `fargo down`; else pass --pod-cidr with a range no device here uses",
					block, what, p, name, n.cfg.Bridge)
			}
		}
		return nil
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("network: list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			if err := taken(p, a.LinkIndex, "address"); err != nil {
				return err
			}
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("network: list routes: %w", err)
	}
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if !ok || p.Bits() == 0 || r.Protocol == RouteProtocol {
			continue
		}
		if err := taken(p, r.LinkIndex, "route"); err != nil {
			return err
		}
	}
	return nil
}
