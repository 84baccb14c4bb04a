package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// testHost is a Network running in a test-private network namespace, so
// the machine's own networking is never touched.
type testHost struct {
	*Network
	ns  netns.NsHandle
	dir string
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, bridges and nftables rules")
	}
}

// newTestHost creates a private namespace, a Network bound to it, and runs
// Setup; cleanup tears it all down.
func newTestHost(t testing.TB, cidrs ...string) *testHost {
	t.Helper()
	requireRoot(t)
	ns := newPrivateNetns(t)
	// A real host's loopback is up; the host's traffic to itself needs it.
	if err := handle(t, ns).LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: "lo", Index: 1}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })

	cfg := Config{Bridge: "fgtest0", NetnsDir: dir, NetnsPrefix: "pod-"}
	for _, c := range cidrs {
		cfg.PodCIDRs = append(cfg.PodCIDRs, netip.MustParsePrefix(c))
	}
	var n *Network
	runIn(t, ns, func() error {
		var err error
		n, err = New(cfg)
		return err
	})
	th := &testHost{Network: n, ns: ns, dir: dir}
	t.Cleanup(func() {
		if err := n.Teardown(context.Background()); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		n.Close()
	})
	if err := n.Setup(context.Background()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return th
}

// newPrivateNetns creates an unnamed network namespace that lives until
// the test ends (the handle keeps it alive).
func newPrivateNetns(t testing.TB) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("return to original namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// runIn runs fn on a thread inside ns; sockets created there stay in ns.
func runIn(t testing.TB, ns netns.NsHandle, fn func() error) {
	t.Helper()
	if err := inNetns(ns, fn); err != nil {
		t.Fatal(err)
	}
}

func (h *testHost) attach(t testing.TB, uid, ip string) netns.NsHandle {
	t.Helper()
	path, err := h.Attach(context.Background(), uid, netip.MustParseAddr(ip))
	if err != nil {
		t.Fatalf("Attach(%s, %s): %v", uid, ip, err)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open netns %s: %v", path, err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// serveTCP listens on addr inside ns and answers each connection with the
// address it came from.
func serveTCP(t testing.TB, ns netns.NsHandle, addr string) string {
	t.Helper()
	var ln net.Listener
	runIn(t, ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, c.RemoteAddr().(*net.TCPAddr).IP.String())
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dialTCP connects from inside ns and returns the peer address the server
// saw, or an error if the connection did not get through.
func dialTCP(t testing.TB, ns netns.NsHandle, addr string) (string, error) {
	t.Helper()
	var seen string
	err := inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, 500*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		seen = string(b)
		return err
	})
	return seen, err
}

// ping sends one ICMP echo from inside ns and waits a second for the reply.
func ping(t testing.TB, ns netns.NsHandle, dst string) error {
	t.Helper()
	return pingWithin(t, ns, dst, time.Second)
}

// pingWithin sends one ICMP echo from inside ns and waits for the reply.
func pingWithin(t testing.TB, ns netns.NsHandle, dst string, timeout time.Duration) error {
	t.Helper()
	return inNetns(ns, func() error {
		c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x4667, Seq: 1, Data: []byte("fargo")}}
		b, _ := msg.Marshal(nil)
		if _, err := c.WriteTo(b, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(timeout))
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return err
			}
			reply, err := icmp.ParseMessage(1, buf[:n])
			if err == nil && reply.Type == ipv4.ICMPTypeEchoReply && from.String() == dst {
				return nil
			}
		}
	})
}

// linkNames lists the links of ns.
func linkNames(t testing.TB, ns netns.NsHandle) []string {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	return names
}

// fargoLinks lists the links in ns named with prefix: "fgtest0" for the
// bridge and its carrier veth, hostVethPrefix for pod veths.
func fargoLinks(t testing.TB, ns netns.NsHandle, prefix string) []string {
	t.Helper()
	var links []string
	for _, name := range linkNames(t, ns) {
		if strings.HasPrefix(name, prefix) {
			links = append(links, name)
		}
	}
	return links
}

// mountedUnder lists mount points below dir (not dir itself).
func mountedUnder(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
