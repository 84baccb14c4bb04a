package network

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestPodIsFencedFromHost(t *testing.T) {
	h := newTestHost(t, "10.93.0.0/24")
	outside := newOutside(t, h)
	pod := h.attach(t, "pod-a", "10.93.0.10")

	hostServer := serveTCP(t, h.ns, "10.93.0.1:0")
	hostOutsideServer := serveTCP(t, h.ns, "192.0.2.1:0")
	metadataServer := serveTCP(t, outside, "169.254.169.254:0")
	internetServer := serveTCP(t, outside, "192.0.2.2:0")

	t.Run("host reaches its own listener (control)", func(t *testing.T) {
		if _, err := dialTCP(t, h.ns, hostServer); err != nil {
			t.Fatalf("host cannot reach its own listener %s: %v", hostServer, err)
		}
	})
	t.Run("pod cannot reach a host service on the gateway", func(t *testing.T) {
		if _, err := dialTCP(t, pod, hostServer); err == nil {
			t.Fatalf("pod reached host listener %s; input drop missing", hostServer)
		}
	})
	t.Run("pod cannot reach a host service on another host address", func(t *testing.T) {
		if _, err := dialTCP(t, pod, hostOutsideServer); err == nil {
			t.Fatalf("pod reached host listener %s", hostOutsideServer)
		}
	})
	t.Run("host reaches the metadata endpoint (control)", func(t *testing.T) {
		if _, err := dialTCP(t, h.ns, metadataServer); err != nil {
			t.Fatalf("host cannot reach %s: %v", metadataServer, err)
		}
	})
	t.Run("pod cannot reach the metadata endpoint", func(t *testing.T) {
		if _, err := dialTCP(t, pod, metadataServer); err == nil {
			t.Fatalf("pod reached metadata endpoint %s", metadataServer)
		}
	})
	t.Run("pod reaches the outside through NAT", func(t *testing.T) {
		seen, err := dialTCP(t, pod, internetServer)
		if err != nil {
			t.Fatalf("pod cannot reach outside server %s: %v", internetServer, err)
		}
		if seen != "192.0.2.1" {
			t.Fatalf("outside saw the pod as %s, want the host's address 192.0.2.1 (masquerade)", seen)
		}
	})
}

// newOutside builds a namespace standing for the world outside the host:
// 192.0.2.2 on a link to the host (192.0.2.1), plus the metadata address.
// It has no route to pod blocks, so only NAT lets replies come back.
func newOutside(t *testing.T, h *testHost) netns.NsHandle {
	t.Helper()
	outside := newPrivateNetns(t)
	hostNL, outNL := handle(t, h.ns), handle(t, outside)
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: "fgtout0", Flags: net.FlagUp},
		PeerName:  "out0", PeerNamespace: netlink.NsFd(outside),
	}
	if err := hostNL.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	hostSide, _ := hostNL.LinkByName("fgtout0")
	addAddr(t, hostNL, hostSide, "192.0.2.1/24")
	out, _ := outNL.LinkByName("out0")
	lo, _ := outNL.LinkByName("lo")
	addAddr(t, outNL, out, "192.0.2.2/24")
	addAddr(t, outNL, out, "169.254.169.254/32")
	for _, l := range []netlink.Link{out, lo} {
		if err := outNL.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	metadata := &netlink.Route{Dst: ipNet(netip.MustParsePrefix("169.254.169.254/32")), Gw: net.ParseIP("192.0.2.2")}
	if err := hostNL.RouteAdd(metadata); err != nil {
		t.Fatal(err)
	}
	return outside
}

func addAddr(t *testing.T, h *netlink.Handle, link netlink.Link, cidr string) {
	t.Helper()
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix(cidr))}); err != nil {
		t.Fatalf("add %s to %s: %v", cidr, link.Attrs().Name, err)
	}
}

// A Service whose endpoint is the host itself (the apiserver in `fargo up`,
// a host DNS server) is reached through kube-proxy's DNAT; the input drop
// must let such connections through while still fencing the host.
func TestPodReachesServiceBackedByHost(t *testing.T) {
	h := newTestHost(t, "10.88.0.0/24")
	pod := h.attach(t, "pod-a", "10.88.0.10")
	hostServer := serveTCP(t, h.ns, "10.88.0.1:0")
	_, port, _ := net.SplitHostPort(hostServer)
	addServiceDNAT(t, h.ns, "10.100.0.10", 443, hostServer)

	if _, err := dialTCP(t, pod, "10.100.0.10:443"); err != nil {
		t.Fatalf("pod cannot reach Service 10.100.0.10:443 backed by host %s: %v", hostServer, err)
	}
	if _, err := dialTCP(t, pod, "10.88.0.1:"+port); err == nil {
		t.Fatalf("pod reached host listener %s directly, not via the Service", hostServer)
	}
}

// addServiceDNAT stands in for kube-proxy: in a table of its own it maps
// vip:vport to the endpoint, as `ip daddr vip tcp dport vport dnat to endpoint`.
func addServiceDNAT(t *testing.T, ns netns.NsHandle, vip string, vport uint16, endpoint string) {
	t.Helper()
	ep := netip.MustParseAddrPort(endpoint)
	c := nftConn(ns)
	table := c.AddTable(&nftables.Table{Name: "test-kube-proxy", Family: nftables.TableFamilyIPv4})
	chain := c.AddChain(&nftables.Chain{
		Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
	})
	epAddr := ep.Addr().As4()
	c.AddRule(rule(table, chain,
		addrIs(ipv4DstOffset, netip.MustParseAddr(vip)),
		[]expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, vport)},
			&expr.Immediate{Register: 1, Data: epAddr[:]},
			&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, ep.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
		}))
	if err := c.Flush(); err != nil {
		t.Fatalf("install test DNAT for %s:%s: %v", vip, strconv.Itoa(int(vport)), err)
	}
}
