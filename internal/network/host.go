package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Setup prepares the host: the bridge with its gateway addresses and a
// carrier port (see bridge.go), IP forwarding, and fargo's nftables table.
// It is safe to call again at any time; it converges on the configuration
// and leaves other tables alone.
func (n *Network) Setup(ctx context.Context) error {
	h, err := n.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	if err := n.checkCollisions(h); err != nil {
		return err
	}
	br, err := n.ensureBridge(h)
	if err != nil {
		return err
	}
	if err := n.ensureCarrierPort(h, br); err != nil {
		return err
	}
	if err := n.setHostSysctls(); err != nil {
		return err
	}
	if err := n.ensureGatewayAddrs(h, br); err != nil {
		return err
	}
	if err := h.LinkSetUp(br); err != nil {
		return fmt.Errorf("network: set bridge %s up: %w", n.cfg.Bridge, err)
	}
	if err := n.installFirewall(); err != nil {
		return err
	}
	if err := waitOperUp(h, n.cfg.Bridge); err != nil {
		return fmt.Errorf("network: bridge %s: %w", n.cfg.Bridge, err)
	}
	return nil
}

// Teardown detaches every pod, then removes fargo's routes, the bridge,
// fargo's nftables table and kube-proxy's (one per network namespace) and
// the netns directory's mount. Used when a host is cleaned up and by
// tests.
func (n *Network) Teardown(ctx context.Context) error {
	uids, err := n.Attached()
	if err != nil {
		return err
	}
	for _, uid := range uids {
		if err := n.Detach(ctx, uid); err != nil {
			return err
		}
	}
	if err := n.SyncRoutes(nil); err != nil {
		return err
	}
	h, err := n.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	for _, name := range []string{n.carrierPortName(), n.cfg.Bridge} {
		if err := deleteLink(h, name); err != nil {
			return fmt.Errorf("network: teardown: %w", err)
		}
	}
	if err := n.removeFirewall(); err != nil {
		return err
	}
	if err := n.removeKubeProxyTables(); err != nil {
		return err
	}
	// prepareNetnsDir made the directory a mount point of its own.
	if err := unix.Unmount(n.cfg.NetnsDir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("network: unmount %s: %w", n.cfg.NetnsDir, err)
	}
	return nil
}

// hostHandle opens a route netlink socket in the host namespace. One per
// call, so concurrent Attach calls do not queue on a shared socket.
func (n *Network) hostHandle() (*netlink.Handle, error) {
	return handleAt(n.hostNS, "host")
}

func handleAt(ns netns.NsHandle, which string) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("network: open netlink in %s namespace: %w", which, err)
	}
	return h, nil
}

// setHostSysctls turns on routing, keeps IPv6 off the bridge and its
// carrier port (pods are IPv4-only, and router advertisements must not
// configure the bridge), and passes bridged traffic through netfilter.
func (n *Network) setHostSysctls() error {
	return inNetns(n.hostNS, func() error {
		if err := writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
		for _, link := range []string{n.cfg.Bridge, n.carrierPortName(), n.carrierPeerName()} {
			if err := disableIPv6(link); err != nil {
				return err
			}
		}
		return enableBridgeNetfilter()
	})
}

// enableBridgeNetfilter makes traffic between pods on the bridge pass
// conntrack and the IP hooks: the reply of a Service's endpoint to a pod on
// the same bridge is bridged, not routed, and only then does conntrack
// undo kube-proxy's DNAT on it (what kubenet and the bridge CNI rely on).
func enableBridgeNetfilter() error {
	const name = "net/bridge/bridge-nf-call-iptables"
	if _, err := os.Stat(filepath.Join("/proc/sys", name)); err != nil {
		return fmt.Errorf("network: %s is missing: load the br_netfilter kernel module (modprobe br_netfilter)", name)
	}
	return writeSysctl(name, "1")
}

func disableIPv6(link string) error {
	conf := filepath.Join("net/ipv6/conf", link)
	if _, err := os.Stat(filepath.Join("/proc/sys", conf)); err != nil {
		return nil // kernel or namespace without IPv6
	}
	if err := writeSysctl(conf+"/accept_ra", "0"); err != nil {
		return err
	}
	return writeSysctl(conf+"/disable_ipv6", "1")
}

func writeSysctl(name, value string) error {
	path := filepath.Join("/proc/sys", name)
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("network: set sysctl %s=%s (is /proc/sys writable?): %w", name, value, err)
	}
	return nil
}

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones), true
}

// macFor derives a locally administered MAC from an IPv4 address, so a pod
// (or gateway) keeps its MAC when recreated and neighbours' ARP caches stay right.
func macFor(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x0a, 0x58, a[0], a[1], a[2], a[3]}
}
