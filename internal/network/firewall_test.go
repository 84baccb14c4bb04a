package network

import (
	"encoding/binary"
	"errors"
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
	// A first SYN sent before both ends carry traffic is lost, and its
	// retransmission comes after the tests' dial timeout.
	if err := errors.Join(waitOperUp(hostNL, "fgtout0"), waitOperUp(outNL, "out0")); err != nil {
		t.Fatal(err)
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
// cluster DNS) is reached through kube-proxy's DNAT; the input drop lets
// such connections through only to the host services the agent names,
// and still fences the host: not directly, not through another Service.
func TestPodReachesServiceBackedByHost(t *testing.T) {
	h := newTestHost(t, "10.88.0.0/24")
	pod := h.attach(t, "pod-a", "10.88.0.10")
	hostServer := serveTCP(t, h.ns, "10.88.0.1:0")
	other := serveTCP(t, h.ns, "10.88.0.1:0")
	_, port, _ := net.SplitHostPort(hostServer)
	addServiceDNAT(t, h.ns, "10.100.0.10", 443, hostServer)
	addServiceDNAT(t, h.ns, "10.100.0.11", 443, other)
	ep := netip.MustParseAddrPort(hostServer)
	if err := h.SetHostServices([]HostService{{Addr: ep.Addr(), Proto: unix.IPPROTO_TCP, Port: ep.Port()}}); err != nil {
		t.Fatal(err)
	}

	if _, err := dialTCP(t, pod, "10.100.0.10:443"); err != nil {
		t.Fatalf("pod cannot reach Service 10.100.0.10:443 backed by host %s: %v", hostServer, err)
	}
	if _, err := dialTCP(t, pod, "10.88.0.1:"+port); err == nil {
		t.Fatalf("pod reached host listener %s directly, not via the Service", hostServer)
	}
	if _, err := dialTCP(t, pod, "10.100.0.11:443"); err == nil {
		t.Fatalf("pod reached host listener %s through a Service that is not a host service", other)
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

// Another host's own services (its agent, etcd, the apiserver's host port)
// are out of pods' reach once SetOtherHosts names it; a Service whose
// endpoint is one of its host services still reaches it, and the outside
// beyond it stays reachable.
func TestPodIsFencedFromOtherHosts(t *testing.T) {
	h := newTestHost(t, "10.87.0.0/24")
	outside := newOutside(t, h)
	pod := h.attach(t, "pod-a", "10.87.0.10")
	otherHost := serveTCP(t, outside, "192.0.2.2:0")
	otherAPI := serveTCP(t, outside, "192.0.2.2:0")
	if _, err := dialTCP(t, pod, otherHost); err != nil {
		t.Fatalf("control: pod cannot reach %s before it is named a host: %v", otherHost, err)
	}
	api := netip.MustParseAddrPort(otherAPI)
	addServiceDNAT(t, h.ns, "10.100.0.1", 443, otherAPI)
	if err := h.SetOtherHosts([]netip.Addr{api.Addr()}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.SetHostServices([]HostService{{Addr: api.Addr(), Proto: unix.IPPROTO_TCP, Port: api.Port()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTCP(t, pod, "10.100.0.1:443"); err != nil {
		t.Fatalf("pod cannot reach the other host's apiserver %s through its Service: %v", otherAPI, err)
	}
	// The other host may still call the pod (a kubelet API call, a load
	// balancer's client): the pod's replies pass.
	toPods := &netlink.Route{Dst: ipNet(netip.MustParsePrefix("10.87.0.0/24")), Gw: net.ParseIP("192.0.2.1")}
	if err := handle(t, outside).RouteAdd(toPods); err != nil {
		t.Fatal(err)
	}
	podServer := serveTCP(t, pod, "10.87.0.10:0")
	if seen, err := dialTCP(t, outside, podServer); err != nil || seen != "192.0.2.2" {
		t.Fatalf("the other host cannot call the pod at %s (saw %q): %v", podServer, seen, err)
	}
	if _, err := dialTCP(t, pod, otherHost); err == nil {
		t.Fatalf("pod reached the other host's own listener %s", otherHost)
	}
	if _, err := dialTCP(t, pod, otherAPI); err == nil {
		t.Fatalf("pod reached the other host's apiserver %s directly, not through its Service", otherAPI)
	}
	if err := h.SetOtherHosts(nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTCP(t, pod, otherHost); err != nil {
		t.Fatalf("pod cannot reach %s once it is no longer a host: %v", otherHost, err)
	}
}

// A Service whose endpoint is another pod on the same bridge: the bridged
// reply must pass conntrack (bridge-nf-call-iptables), which undoes the
// DNAT, or the client would get it from the endpoint's own address.
func TestPodReachesServiceBackedByPodOnSameBridge(t *testing.T) {
	h := newTestHost(t, "10.86.0.0/24")
	client := h.attach(t, "pod-a", "10.86.0.10")
	backend := h.attach(t, "pod-b", "10.86.0.11")
	server := serveTCP(t, backend, "10.86.0.11:0")
	addServiceDNAT(t, h.ns, "10.100.0.20", 80, server)
	seen, err := dialTCP(t, client, "10.100.0.20:80")
	if err != nil {
		t.Fatalf("pod cannot reach Service 10.100.0.20:80 backed by pod %s: %v", server, err)
	}
	if seen != "10.86.0.10" {
		t.Fatalf("backend saw the client as %s, want its own address 10.86.0.10", seen)
	}
}
