package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func (n *Network) ensureBridge(h *netlink.Handle) (netlink.Link, error) {
	link, err := h.LinkByName(n.cfg.Bridge)
	if err == nil {
		if link.Type() != "bridge" {
			return nil, fmt.Errorf("network: link %s exists but is a %s, not a bridge; delete it or set Config.Bridge to another name", n.cfg.Bridge, link.Type())
		}
		if link.Attrs().MTU != n.cfg.MTU {
			if err := h.LinkSetMTU(link, n.cfg.MTU); err != nil {
				return nil, fmt.Errorf("network: set bridge %s MTU %d: %w", n.cfg.Bridge, n.cfg.MTU, err)
			}
		}
		return link, nil
	}
	if !isLinkNotFound(err) {
		return nil, fmt.Errorf("network: look up bridge %s: %w", n.cfg.Bridge, err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{
		Name: n.cfg.Bridge,
		MTU:  n.cfg.MTU,
		// A fixed MAC: otherwise the bridge takes its lowest port's MAC and
		// the gateway's MAC changes under the pods as they come and go.
		HardwareAddr: macFor(gatewayOf(n.cfg.PodCIDRs[0])),
	}}
	if err := h.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("network: create bridge %s: %w", n.cfg.Bridge, err)
	}
	return h.LinkByName(n.cfg.Bridge)
}

// ensureGatewayAddrs gives the bridge exactly the gateway of each pod block.
func (n *Network) ensureGatewayAddrs(h *netlink.Handle, br netlink.Link) error {
	want := map[netip.Prefix]bool{}
	for _, block := range n.cfg.PodCIDRs {
		gw := netip.PrefixFrom(gatewayOf(block), block.Bits())
		want[gw] = true
		if err := h.AddrReplace(br, &netlink.Addr{IPNet: ipNet(gw)}); err != nil {
			return fmt.Errorf("network: add gateway %v to bridge %s: %w", gw, n.cfg.Bridge, err)
		}
	}
	have, err := h.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("network: list addresses of bridge %s: %w", n.cfg.Bridge, err)
	}
	for _, a := range have {
		if p, ok := prefixOf(a.IPNet); ok && !want[p] {
			if err := h.AddrDel(br, &a); err != nil {
				return fmt.Errorf("network: remove stale address %v from bridge %s: %w", p, n.cfg.Bridge, err)
			}
		}
	}
	return nil
}

// The bridge has no carrier while it has no running port, and until the
// kernel's link watcher (rate-limited to once a second for bridges) sees the
// carrier return, the bridge drops what it sends: the first pod on a host
// would lose its first ARP reply and a second of start time. A veth pair
// kept on the bridge (there may be no dummy driver) keeps the carrier up.

// carrierPortName is the bridge port of the carrier veth: "<bridge>-nic"
// (as libvirt names its equivalent), or a hash if that is too long.
func (n *Network) carrierPortName() string {
	return shortName(n.cfg.Bridge, "-nic", "fgn")
}

// carrierPeerName is the other, idle end of the carrier veth.
func (n *Network) carrierPeerName() string {
	return shortName(n.cfg.Bridge, "-nip", "fgm")
}

func shortName(base, suffix, hashPrefix string) string {
	if len(base)+len(suffix) <= maxIfNameLen {
		return base + suffix
	}
	sum := sha256.Sum256([]byte(base))
	return hashPrefix + hex.EncodeToString(sum[:])[:maxIfNameLen-len(hashPrefix)]
}

// ensureCarrierPort keeps the carrier veth on the bridge with both ends up.
func (n *Network) ensureCarrierPort(h *netlink.Handle, br netlink.Link) error {
	port, err := h.LinkByName(n.carrierPortName())
	if isLinkNotFound(err) {
		veth := &netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: n.carrierPortName(), MTU: n.cfg.MTU, MasterIndex: br.Attrs().Index, Flags: net.FlagUp},
			PeerName:  n.carrierPeerName(),
			PeerMTU:   uint32(n.cfg.MTU),
		}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("network: create carrier veth %s for bridge %s: %w", veth.Name, n.cfg.Bridge, err)
		}
		port, err = h.LinkByName(n.carrierPortName())
	}
	if err != nil {
		return fmt.Errorf("network: look up carrier veth %s: %w", n.carrierPortName(), err)
	}
	if err := joinBridge(h, port, br); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	peer, err := h.LinkByName(n.carrierPeerName())
	if err != nil {
		return fmt.Errorf("network: carrier veth %s has no peer %s; delete it and run Setup again: %w", n.carrierPortName(), n.carrierPeerName(), err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("network: set %s up: %w", n.carrierPeerName(), err)
	}
	return nil
}
