package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// podIfName is the pod side of the veth, as every pod expects.
const podIfName = "eth0"

// operUpTimeout bounds the wait for a new veth to carry traffic; the kernel
// normally needs well under a millisecond, at worst about a second.
const operUpTimeout = 3 * time.Second

// hostVethPrefix starts the host side of every pod veth.
const hostVethPrefix = "fgv"

// HostVethName is the host-side veth of a pod: fixed per UID, so Detach and
// a resumed Attach find it without any saved state.
func HostVethName(podUID string) string {
	sum := sha256.Sum256([]byte(podUID))
	return hostVethPrefix + hex.EncodeToString(sum[:])[:maxIfNameLen-len(hostVethPrefix)]
}

// Attach gives a pod its own network namespace with eth0 at ip, on the
// bridge, with a default route via its block's gateway, and returns the
// netns path for the sandbox runtime. Calling it again, also after a crash
// halfway, completes or keeps what exists.
func (n *Network) Attach(ctx context.Context, podUID string, ip netip.Addr) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkPodUID(podUID); err != nil {
		return "", err
	}
	block, err := n.podBlock(ip)
	if err != nil {
		return "", err
	}
	lock := n.podLock(podUID)
	lock.Lock()
	defer lock.Unlock()

	path := n.netnsPath(podUID)
	created, err := n.ensureNetns(path)
	if err != nil {
		return "", err
	}
	if err := n.wireNetns(podUID, path, netip.PrefixFrom(ip, block.Bits())); err != nil {
		if created {
			// A new pod leaves nothing half-built behind. An existing
			// one keeps its namespace: a sandbox may be running in it.
			n.detach(podUID)
		}
		return "", err
	}
	return path, nil
}

func (n *Network) wireNetns(podUID, path string, addr netip.Prefix) error {
	podNS, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("network: open pod netns %s: %w", path, err)
	}
	defer podNS.Close()
	if err := n.wirePod(podUID, podNS, addr); err != nil {
		return fmt.Errorf("network: attach pod %s: %w", podUID, err)
	}
	return nil
}

// Detach removes the pod's veth and netns file. Pieces already gone are fine.
func (n *Network) Detach(ctx context.Context, podUID string) error {
	if err := checkPodUID(podUID); err != nil {
		return err
	}
	lock := n.podLock(podUID)
	lock.Lock()
	defer lock.Unlock()
	return n.detach(podUID)
}

func (n *Network) detach(podUID string) error {
	h, err := n.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	// Deleting the host side deletes its peer in the pod namespace too.
	if err := deleteLink(h, HostVethName(podUID)); err != nil {
		return fmt.Errorf("network: detach pod %s: %w", podUID, err)
	}
	return removeNetns(n.netnsPath(podUID))
}

func checkPodUID(podUID string) error {
	if podUID == "" || podUID == "." || podUID == ".." || strings.ContainsAny(podUID, "/\x00") {
		return fmt.Errorf("network: pod UID %q is not usable as a file name; pass the pod's metadata.uid", podUID)
	}
	return nil
}

// podBlock returns the block of ip, refusing addresses no pod may have.
func (n *Network) podBlock(ip netip.Addr) (netip.Prefix, error) {
	block, ok := n.blockOf(ip)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("network: pod IP %v is in none of this host's pod CIDRs %v; reserve it from them", ip, n.cfg.PodCIDRs)
	}
	switch ip {
	case block.Addr(), gatewayOf(block), broadcastOf(block):
		return netip.Prefix{}, fmt.Errorf("network: pod IP %v is the network, gateway or broadcast address of %v; reserve another", ip, block)
	}
	return block, nil
}

// wirePod makes sure the veth pair exists and the pod side is configured.
func (n *Network) wirePod(podUID string, podNS netns.NsHandle, addr netip.Prefix) error {
	host, err := n.hostHandle()
	if err != nil {
		return err
	}
	defer host.Close()
	pod, err := handleAt(podNS, "pod")
	if err != nil {
		return err
	}
	defer pod.Close()

	if err := n.ensureVeth(host, pod, podUID, podNS, addr.Addr()); err != nil {
		return err
	}
	if err := configurePod(pod, addr, gatewayOf(addr.Masked())); err != nil {
		return err
	}
	// Until the kernel's link watcher has seen the carrier, the bridge port
	// is disabled and eth0 drops what it sends; a pod's first ARP lost there
	// costs it a whole second. Return only once both ends pass traffic.
	for _, link := range []string{HostVethName(podUID), n.cfg.Bridge} {
		if err := waitOperUp(host, link); err != nil {
			return err
		}
	}
	return waitOperUp(pod, podIfName)
}

// waitOperUp polls until a link's operational state is up.
func waitOperUp(h *netlink.Handle, name string) error {
	deadline := time.Now().Add(operUpTimeout)
	for {
		link, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("look up %s: %w", name, err)
		}
		if link.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link %s still %s after %v; is the system overloaded?", name, link.Attrs().OperState, operUpTimeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// ensureVeth keeps a complete pair, and replaces a half one (one side
// missing, or eth0 not joined to our host side) with a fresh pair.
func (n *Network) ensureVeth(host, pod *netlink.Handle, podUID string, podNS netns.NsHandle, ip netip.Addr) error {
	br, err := host.LinkByName(n.cfg.Bridge)
	if err != nil {
		return fmt.Errorf("look up bridge %s (did Setup run?): %w", n.cfg.Bridge, err)
	}
	name := HostVethName(podUID)
	hostSide, hostErr := host.LinkByName(name)
	podSide, podErr := pod.LinkByName(podIfName)
	if hostErr == nil && podErr == nil && podSide.Attrs().ParentIndex == hostSide.Attrs().Index {
		return joinBridge(host, hostSide, br)
	}
	if err := deleteLink(host, name); err != nil {
		return err
	}
	if err := deleteLink(pod, podIfName); err != nil {
		return err
	}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name: name, MTU: n.cfg.MTU, MasterIndex: br.Attrs().Index, Flags: net.FlagUp,
		},
		PeerName:         podIfName,
		PeerNamespace:    netlink.NsFd(podNS),
		PeerMTU:          uint32(n.cfg.MTU),
		PeerHardwareAddr: macFor(ip),
	}
	if err := host.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s/%s: %w", name, podIfName, err)
	}
	return nil
}

// joinBridge puts an existing host-side veth on the bridge and up.
func joinBridge(h *netlink.Handle, link, br netlink.Link) error {
	if link.Attrs().MasterIndex != br.Attrs().Index {
		if err := h.LinkSetMasterByIndex(link, br.Attrs().Index); err != nil {
			return fmt.Errorf("attach %s to bridge: %w", link.Attrs().Name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", link.Attrs().Name, err)
	}
	return nil
}

// configurePod sets the pod's address, brings eth0 and lo up, and routes
// everything via the gateway. Replace calls make a repeat harmless.
func configurePod(h *netlink.Handle, addr netip.Prefix, gw netip.Addr) error {
	eth0, err := h.LinkByName(podIfName)
	if err != nil {
		return fmt.Errorf("find %s in pod netns: %w", podIfName, err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in pod netns: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	if err := setOnlyAddr(h, eth0, addr); err != nil {
		return err
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("set %s up: %w", podIfName, err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gw.AsSlice(), Scope: netlink.SCOPE_UNIVERSE}
	if err := h.RouteReplace(route); err != nil {
		return fmt.Errorf("set default route via %v: %w", gw, err)
	}
	return nil
}

// setOnlyAddr makes addr the one IPv4 address of link, so an Attach repeated
// with a new IP does not leave the old one behind.
func setOnlyAddr(h *netlink.Handle, link netlink.Link, addr netip.Prefix) error {
	// Old ones go first: deleting a primary address also deletes the
	// secondaries in its subnet, which the new one would be.
	have, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, a := range have {
		if p, ok := prefixOf(a.IPNet); ok && p != addr {
			if err := h.AddrDel(link, &a); err != nil {
				return fmt.Errorf("remove old address %v from %s: %w", p, link.Attrs().Name, err)
			}
		}
	}
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return fmt.Errorf("set %v on %s: %w", addr, link.Attrs().Name, err)
	}
	return nil
}

// deleteLink deletes a link by name if it exists.
func deleteLink(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if isLinkNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
