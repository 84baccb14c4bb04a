package kubeletapi

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// accepted returns both ends of a TCP connection dialled to dial on a
// listener at listen.
func accepted(t *testing.T, listen, dial string) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Skipf("listen on %s: %v", listen, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	client, err = net.Dial("tcp", net.JoinHostPort(dial, port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// A connection that was not redirected was meant for the address it
// arrived at.
func TestOriginalDestinationFallsBackToLocalAddress(t *testing.T) {
	cases := []struct{ name, listen, dial, want string }{
		{"IPv4 listener", "127.0.0.1:0", "127.0.0.1", "127.0.0.1"},
		{"other loopback address", "127.0.0.3:0", "127.0.0.3", "127.0.0.3"},
		// The agent listens on ":10250": IPv4 arrives IPv4-mapped.
		{"dual-stack listener", ":0", "127.0.0.1", "127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			server, _ := inFreshNetns(t, func() (net.Conn, net.Conn) { return accepted(t, c.listen, c.dial) })
			if _, ok := soOriginalDst(server.(*net.TCPConn)); ok {
				t.Fatal("SO_ORIGINAL_DST answered in a namespace without conntrack; the fallback is not tested")
			}
			want := netip.MustParseAddr(c.want)
			if got, ok := originalDestination(server); !ok || got != want {
				t.Fatalf("originalDestination = %v, %v; want %v", got, ok, want)
			}
			if got, ok := originalDestination(tls.Server(server, &tls.Config{})); !ok || got != want {
				t.Fatalf("originalDestination of the TLS connection = %v, %v; want %v", got, ok, want)
			}
			got, ok := destination(withDestination(context.Background(), server))
			if !ok || got != want {
				t.Fatalf("destination recorded = %v, %v; want %v", got, ok, want)
			}
		})
	}
}

func TestOriginalDestinationOfNonIPConnection(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got, ok := originalDestination(a); ok {
		t.Fatalf("originalDestination of a pipe = %v, want none", got)
	}
	if got, ok := destination(withDestination(context.Background(), a)); ok {
		t.Fatalf("destination recorded for a pipe = %v, want none", got)
	}
}

// inFreshNetns runs fn in a new network namespace with loopback up, where
// no firewall rule has started conntrack, so that SO_ORIGINAL_DST fails
// as for a connection nobody redirected; the sockets fn makes stay there.
func inFreshNetns(t *testing.T, fn func() (net.Conn, net.Conn)) (net.Conn, net.Conn) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(err) // the locked thread would run the next test in ns
		}
	}()
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fn()
}
