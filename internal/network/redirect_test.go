package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// testKubeletPort is where the test host serves the kubelet API.
const testKubeletPort = 20250

// newKubeletHost is newTestHost with Config.KubeletPort set.
func newKubeletHost(t *testing.T, cidr string) *testHost {
	t.Helper()
	requireRoot(t)
	ns := newPrivateNetns(t)
	if err := handle(t, ns).LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: "lo", Index: 1}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	cfg := Config{Bridge: "fgtest0", NetnsDir: dir, NetnsPrefix: "pod-", KubeletPort: testKubeletPort,
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix(cidr)}}
	var n *Network
	runIn(t, ns, func() error {
		var err error
		n, err = New(cfg)
		return err
	})
	t.Cleanup(func() {
		if err := n.Teardown(context.Background()); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		n.Close()
	})
	if err := n.Setup(context.Background()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return &testHost{Network: n, ns: ns, dir: dir}
}

// serveKubelet stands for the agent's kubelet API: it listens on
// ":KubeletPort" in ns, as the agent does, and answers each connection
// with the destination the client dialled (SO_ORIGINAL_DST).
func serveKubelet(t *testing.T, ns netns.NsHandle) {
	t.Helper()
	var ln net.Listener
	runIn(t, ns, func() error {
		var err error
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(testKubeletPort))
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dst, err := originalDst(c.(*net.TCPConn))
			if err != nil {
				fmt.Fprintf(c, "kubelet: %v", err)
			} else {
				fmt.Fprintf(c, "kubelet for %v", dst)
			}
			c.Close()
		}
	}()
}

// originalDst reads SO_ORIGINAL_DST as internal/kubeletapi does.
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var sa unix.RawSockaddrInet4
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(sa))
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, unix.SOL_IP, unix.SO_ORIGINAL_DST,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		return netip.AddrPort{}, err
	}
	if errno != 0 {
		return netip.AddrPort{}, fmt.Errorf("getsockopt SO_ORIGINAL_DST: %w", errno)
	}
	port := uint16(sa.Port>>8 | sa.Port<<8) // network byte order
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port), nil
}

// Each pod address answers at 10250 with the host's kubelet API, which
// learns from the connection which pod-node it is for; pods' own traffic
// to that port is theirs.
func TestKubeletRedirect(t *testing.T) {
	h := newKubeletHost(t, "10.97.0.0/24")
	serveKubelet(t, h.ns)
	podA := h.attach(t, "pod-a", "10.97.0.10")
	podB := h.attach(t, "pod-b", "10.97.0.11")
	// pod-b's own server on the kubelet's port.
	serveTCP(t, podB, "0.0.0.0:10250")

	t.Run("from the host", func(t *testing.T) {
		for _, pod := range []string{"10.97.0.10", "10.97.0.11"} {
			said, err := dialTCP(t, h.ns, pod+":10250")
			if want := "kubelet for " + pod + ":10250"; err != nil || said != want {
				t.Fatalf("host dialled %s:10250 and heard %q (%v), want %q", pod, said, err, want)
			}
		}
	})
	t.Run("other ports are the pod's", func(t *testing.T) {
		serveTCP(t, podB, "0.0.0.0:10251")
		said, err := dialTCP(t, h.ns, "10.97.0.11:10251")
		if err != nil || said != "10.97.0.1" {
			t.Fatalf("host dialled 10.97.0.11:10251 and heard %q (%v), want pod-b's server seeing the gateway", said, err)
		}
	})
	t.Run("from outside the host", func(t *testing.T) {
		outside := newOutside(t, h)
		via := &netlink.Route{Dst: ipNet(netip.MustParsePrefix("10.97.0.0/24")), Gw: net.ParseIP("192.0.2.1")}
		if err := handle(t, outside).RouteAdd(via); err != nil {
			t.Fatal(err)
		}
		said, err := dialTCP(t, outside, "10.97.0.10:10250")
		if want := "kubelet for 10.97.0.10:10250"; err != nil || said != want {
			t.Fatalf("outside dialled 10.97.0.10:10250 and heard %q (%v), want %q", said, err, want)
		}
	})
	t.Run("from another pod", func(t *testing.T) {
		said, err := dialTCP(t, podA, "10.97.0.11:10250")
		if err != nil || said != "10.97.0.10" {
			t.Fatalf("pod-a dialled pod-b at 10.97.0.11:10250 and heard %q (%v), want pod-b's own server seeing 10.97.0.10", said, err)
		}
	})
}

// Without KubeletPort, port 10250 at pod addresses is the pods'.
func TestNoKubeletRedirectByDefault(t *testing.T) {
	h := newTestHost(t, "10.98.0.0/24")
	serveKubelet(t, h.ns)
	pod := h.attach(t, "pod-a", "10.98.0.10")
	serveTCP(t, pod, "0.0.0.0:10250")
	said, err := dialTCP(t, h.ns, "10.98.0.10:10250")
	if err != nil || said != "10.98.0.1" {
		t.Fatalf("host dialled 10.98.0.10:10250 and heard %q (%v), want the pod's server", said, err)
	}
}
