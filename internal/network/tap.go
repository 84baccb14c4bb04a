package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// tapName is the microVM's end in the pod's network namespace.
const tapName = "tap0"

// Tap is a pod's network handed to a microVM: the guest's NIC takes the
// pod's address, MAC and route, and every frame eth0 receives goes to the
// guest through the tap, and back.
type Tap struct {
	// File is the tap's queue, for the VMM (QEMU's -netdev tap,fd=N). The
	// tap goes away when the last copy of File is closed, that is when
	// the VM ends.
	File    *os.File
	Addr    netip.Prefix
	Gateway netip.Addr
	MAC     net.HardwareAddr
	MTU     int
}

// TapForVM gives the network Attach made at netnsPath to a microVM: it
// makes tap0 there and redirects all traffic between eth0 and tap0 with
// tc, as Kata Containers does, so the bridge, Services, fencing and the
// kubelet endpoint see the pod exactly as for a container. eth0 keeps its
// address (the redirect takes every frame before the namespace's own
// stack sees it), so calling again after a crash finds what it needs.
func TapForVM(netnsPath string) (Tap, error) {
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return Tap{}, fmt.Errorf("network: open pod netns %s: %w", netnsPath, err)
	}
	defer ns.Close()
	h, err := handleAt(ns, "pod")
	if err != nil {
		return Tap{}, err
	}
	defer h.Close()
	t, err := podAddressing(h)
	if err != nil {
		return Tap{}, err
	}
	if err := inNetns(ns, func() error {
		t.File, err = openTap(h, t.MTU)
		return err
	}); err != nil {
		return Tap{}, err
	}
	if err := redirectBothWays(h); err != nil {
		t.File.Close()
		return Tap{}, err
	}
	return t, nil
}

// podAddressing reads what Attach configured on eth0.
func podAddressing(h *netlink.Handle) (Tap, error) {
	eth0, err := h.LinkByName(podIfName)
	if err != nil {
		return Tap{}, fmt.Errorf("network: pod has no %s (did Attach run?): %w", podIfName, err)
	}
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		return Tap{}, fmt.Errorf("network: pod's %s has no IPv4 address (did Attach run?): %v", podIfName, err)
	}
	addr, ok := prefixOf(addrs[0].IPNet)
	if !ok {
		return Tap{}, fmt.Errorf("network: pod address %v is not IPv4", addrs[0].IPNet)
	}
	return Tap{
		Addr: addr, Gateway: gatewayOf(addr.Masked()),
		MAC: eth0.Attrs().HardwareAddr, MTU: eth0.Attrs().MTU,
	}, nil
}

// openTap makes tap0 in the current (pod) namespace, or opens it again,
// and sets it up. It is not persistent: its queue is File.
func openTap(h *netlink.Handle, mtu int) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("network: open /dev/net/tun (is the tun module loaded?): %w", err)
	}
	ifr, err := unix.NewIfreq(tapName)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("network: create %s: %w", tapName, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	link, err := h.LinkByName(tapName)
	if err == nil {
		err = h.LinkSetMTU(link, mtu)
	}
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("network: set %s up: %w", tapName, err)
	}
	return f, nil
}

// redirectBothWays sends every frame arriving on eth0 out of tap0 and
// every frame from tap0 out of eth0, replacing earlier rules (a tap made
// again has a new index).
func redirectBothWays(h *netlink.Handle) error {
	eth0, err := h.LinkByName(podIfName)
	if err != nil {
		return err
	}
	tap, err := h.LinkByName(tapName)
	if err != nil {
		return err
	}
	if err := redirect(h, eth0, tap); err != nil {
		return err
	}
	return redirect(h, tap, eth0)
}

func redirect(h *netlink.Handle, from, to netlink.Link) error {
	ingress := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: from.Attrs().Index, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_INGRESS,
	}}
	_ = h.QdiscDel(ingress) // drops an old redirect with it
	if err := h.QdiscAdd(ingress); err != nil {
		return fmt.Errorf("network: add ingress qdisc on %s: %w", from.Attrs().Name, err)
	}
	// u32 with one key that masks nothing matches every frame; matchall
	// would say it more plainly but is often not built.
	filter := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: from.Attrs().Index, Parent: netlink.MakeHandle(0xffff, 0), Protocol: unix.ETH_P_ALL,
		},
		Sel: &netlink.TcU32Sel{Flags: netlink.TC_U32_TERMINAL, Nkeys: 1, Keys: []netlink.TcU32Key{{}}},
		Actions: []netlink.Action{&netlink.MirredAction{
			ActionAttrs:  netlink.ActionAttrs{Action: netlink.TC_ACT_STOLEN},
			MirredAction: netlink.TCA_EGRESS_REDIR,
			Ifindex:      to.Attrs().Index,
		}},
	}
	if err := h.FilterAdd(filter); err != nil {
		return fmt.Errorf("network: redirect %s to %s (needs the kernel's cls_u32 and act_mirred): %w",
			from.Attrs().Name, to.Attrs().Name, err)
	}
	return nil
}
