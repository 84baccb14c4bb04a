package guestinit

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// configureNetwork brings lo and eth0 up with the pod's address, MTU and
// default route, over rtnetlink (the guest has no ip command).
func configureNetwork(address, gateway string, mtu int) error {
	prefix, err := netip.ParsePrefix(address)
	if err != nil {
		return fmt.Errorf("address %q: %w", address, err)
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil {
		return fmt.Errorf("gateway %q: %w", gateway, err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	eth0, err := net.InterfaceByName("eth0")
	if err != nil {
		return fmt.Errorf("the guest has no eth0 (virtio_net loaded?): %w", err)
	}
	nl, err := newNetlink()
	if err != nil {
		return err
	}
	defer unix.Close(nl.fd)
	if err := nl.linkUp(lo.Index, 0); err != nil {
		return err
	}
	if err := nl.linkUp(eth0.Index, mtu); err != nil {
		return err
	}
	if err := nl.addAddr(eth0.Index, prefix); err != nil {
		return err
	}
	return nl.addDefaultRoute(eth0.Index, gw)
}

type netlinkSocket struct {
	fd  int
	seq uint32
}

func newNetlink() (*netlinkSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &netlinkSocket{fd: fd}, nil
}

// request sends one message and waits for its acknowledgement.
func (n *netlinkSocket) request(typ uint16, flags uint16, body []byte) error {
	n.seq++
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	msg = append(msg, body...)
	binary.NativeEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:6], typ)
	binary.NativeEndian.PutUint16(msg[6:8], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:12], n.seq)
	if err := unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		k, _, err := unix.Recvfrom(n.fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:k])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != n.seq || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[0:4])); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}

// attr is one rtattr.
func attr(typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b := make([]byte, (l+3)&^3)
	binary.NativeEndian.PutUint16(b[0:2], uint16(l))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	copy(b[4:], data)
	return b
}

func u32(v uint32) []byte { b := make([]byte, 4); binary.NativeEndian.PutUint32(b, v); return b }

func (n *netlinkSocket) linkUp(index, mtu int) error {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:8], uint32(index))
	binary.NativeEndian.PutUint32(b[8:12], unix.IFF_UP)
	binary.NativeEndian.PutUint32(b[12:16], unix.IFF_UP)
	if mtu > 0 {
		b = append(b, attr(unix.IFLA_MTU, u32(uint32(mtu)))...)
	}
	if err := n.request(unix.RTM_NEWLINK, 0, b); err != nil {
		return fmt.Errorf("set link %d up: %w", index, err)
	}
	return nil
}

func (n *netlinkSocket) addAddr(index int, p netip.Prefix) error {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	b[1] = byte(p.Bits())
	binary.NativeEndian.PutUint32(b[4:8], uint32(index))
	ip := p.Addr().AsSlice()
	b = append(b, attr(unix.IFA_LOCAL, ip)...)
	b = append(b, attr(unix.IFA_ADDRESS, ip)...)
	if err := n.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("add address %v: %w", p, err)
	}
	return nil
}

func (n *netlinkSocket) addDefaultRoute(index int, gw netip.Addr) error {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = unix.AF_INET
	b[4] = unix.RT_TABLE_MAIN
	b[5] = unix.RTPROT_BOOT
	b[6] = unix.RT_SCOPE_UNIVERSE
	b[7] = unix.RTN_UNICAST
	b = append(b, attr(unix.RTA_GATEWAY, gw.AsSlice())...)
	b = append(b, attr(unix.RTA_OIF, u32(uint32(index)))...)
	if err := n.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("add default route via %v: %w", gw, err)
	}
	return nil
}
