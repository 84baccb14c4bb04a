package kubeletapi

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

type destinationKey struct{}

// withDestination records in the connection's context the address the
// client dialled: before the firewall's redirect if there was one.
func withDestination(ctx context.Context, c net.Conn) context.Context {
	if ip, ok := originalDestination(c); ok {
		return context.WithValue(ctx, destinationKey{}, ip)
	}
	return ctx
}

// destination is the address withDestination recorded.
func destination(ctx context.Context) (netip.Addr, bool) {
	ip, ok := ctx.Value(destinationKey{}).(netip.Addr)
	return ip, ok
}

// originalDestination reads SO_ORIGINAL_DST (conntrack's record of the
// destination before NAT), falling back to the local address for a
// connection that was not redirected.
func originalDestination(c net.Conn) (netip.Addr, bool) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if ip, ok := soOriginalDst(tc); ok {
			return ip, true
		}
	}
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func soOriginalDst(c *net.TCPConn) (netip.Addr, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.Addr{}, false
	}
	var sa unix.RawSockaddrInet4
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(sa))
		_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, unix.SOL_IP, unix.SO_ORIGINAL_DST,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)), 0)
		if errno != 0 {
			sockErr = errno
		}
	})
	if err != nil || sockErr != nil || sa.Family != unix.AF_INET {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(sa.Addr), true
}
