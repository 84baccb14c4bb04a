package network

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// HostService is a host's own service that pods may reach, but only as the
// endpoint of a Service (after kube-proxy's DNAT): the apiserver behind
// the kubernetes Service, cluster DNS behind kube-dns.
type HostService struct {
	Addr netip.Addr
	// Proto is unix.IPPROTO_TCP or unix.IPPROTO_UDP.
	Proto uint8
	Port  uint16
}

func (s HostService) String() string {
	name := "udp"
	if s.Proto == unix.IPPROTO_TCP {
		name = "tcp"
	}
	return fmt.Sprintf("%s/%s", netip.AddrPortFrom(s.Addr, s.Port), name)
}

// guards are what the firewall learns from the cluster, beyond Config.
type guards struct {
	// hosts are the other hosts' own addresses, which pods must not reach.
	hosts []netip.Addr
	// podBlocks are the other hosts' pod blocks, which pods reach unNATed.
	podBlocks []netip.Prefix
	// services are the host services reachable through a Service.
	services []HostService
}

// SetOtherHosts tells the firewall the other hosts' addresses and pod
// blocks: pods reach those hosts only through a Service of a HostService
// (SetHostServices), and their pods with their own addresses, as pods
// here. The table is rewritten only when something changed.
func (n *Network) SetOtherHosts(addrs []netip.Addr, podBlocks []netip.Prefix) error {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	podBlocks = maskAll(podBlocks)
	slices.SortFunc(podBlocks, comparePrefixes)
	podBlocks = slices.Compact(podBlocks)
	return n.updateGuards(func(g *guards) bool {
		if slices.Equal(g.hosts, addrs) && slices.Equal(g.podBlocks, podBlocks) {
			return false
		}
		g.hosts, g.podBlocks = addrs, podBlocks
		return true
	})
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// SetHostServices tells the firewall which host services pods may reach
// through a Service; any other traffic from pods to this host or to the
// other hosts is dropped.
func (n *Network) SetHostServices(services []HostService) error {
	services = slices.Clone(services)
	slices.SortFunc(services, compareHostServices)
	services = slices.Compact(services)
	return n.updateGuards(func(g *guards) bool {
		if slices.Equal(g.services, services) {
			return false
		}
		g.services = services
		return true
	})
}

func compareHostServices(a, b HostService) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if a.Proto != b.Proto {
		return int(a.Proto) - int(b.Proto)
	}
	return int(a.Port) - int(b.Port)
}

// updateGuards applies change and, if it changed anything, installs the
// firewall again (one atomic table replacement).
func (n *Network) updateGuards(change func(*guards) bool) error {
	n.guardsMu.Lock()
	defer n.guardsMu.Unlock()
	if !change(&n.guards) {
		return nil
	}
	return n.installFirewallLocked()
}

// kubeProxyTable is where upstream kube-proxy keeps its rules, in both
// families; Teardown removes it with the host.
const kubeProxyTable = "kube-proxy"

// removeKubeProxyTables deletes kube-proxy's tables, if there are any.
func (n *Network) removeKubeProxyTables() error {
	c, err := nftables.New(nftables.WithNetNSFd(int(n.hostNS)))
	if err != nil {
		return fmt.Errorf("network: open nftables: %w", err)
	}
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		t := &nftables.Table{Name: kubeProxyTable, Family: family}
		c.AddTable(t)
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: delete kube-proxy's nftables tables: %w", err)
	}
	return nil
}
