// Package loadbalancer gives Services of type LoadBalancer their external
// addresses. fargo has no cloud to provision load balancers: a Service gets
// the addresses of the Ready hosts, or one address of a configured pool,
// and the kube-proxy of every host DNATs what arrives for the addresses in
// status.loadBalancer.ingress. This controller only decides the addresses,
// writes the status and tells users about conflicts with events.
//
// Allocate is the decision, a pure function of the Services, the hosts'
// addresses, the pool and the reserved ports; Run feeds it from informers,
// writes the statuses that differ and records events when an outcome
// changes.
package loadbalancer

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Class is the spec.loadBalancerClass this controller serves, as well as
// Services that name no class; any other class belongs to another
// controller.
const Class = "fargo.dev/host"

// Port is what two Services on one address may not both ask for.
type Port struct {
	Port     int32
	Protocol corev1.Protocol
}

func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// ReservedPort is a port the hosts themselves serve: a DNAT on a host's
// address would take it from them.
type ReservedPort struct {
	Port int32
	// Protocol is TCP when empty.
	Protocol corev1.Protocol
	// Name says what uses the port, for the event: "kube-apiserver".
	Name string
}

// sshPort is always reserved: losing ssh to a host is the worst hijack.
var sshPort = ReservedPort{Port: 22, Protocol: corev1.ProtocolTCP, Name: "ssh"}

// Input is everything an allocation depends on.
type Input struct {
	// Services may hold any Service; only those Manages accepts get an
	// Outcome.
	Services []*corev1.Service
	// HostAddresses are the addresses of the Ready hosts (ReadyAddresses).
	HostAddresses []netip.Addr
	// Pool, when not empty, replaces the host addresses: each Service gets
	// one address of it.
	Pool []netip.Prefix
	// Reserved are refused on host addresses; 22/TCP is always added.
	Reserved []ReservedPort
}

// Outcome is what one Service gets: addresses, or why it has none.
type Outcome struct {
	// Addresses are the Service's ingress IPs, sorted; empty while pending.
	Addresses []netip.Addr
	// Problem says why the Service is pending, for its event.
	Problem string
}

// Manages tells whether svc is this controller's to give addresses to.
func Manages(svc *corev1.Service) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	return svc.Spec.LoadBalancerClass == nil || *svc.Spec.LoadBalancerClass == Class
}

// ReadyAddresses are the valid addresses of the Ready hosts, sorted and
// without duplicates.
func ReadyAddresses(hosts []v1.Host) []netip.Addr {
	var addrs []netip.Addr
	for i := range hosts {
		if !meta.IsStatusConditionTrue(hosts[i].Status.Conditions, v1.HostReady) {
			continue
		}
		if a, ok := hostAddress(&hosts[i]); ok {
			addrs = append(addrs, a)
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}

// hostAddress is h's Spec.Address if outside clients can be sent to it.
func hostAddress(h *v1.Host) (netip.Addr, bool) {
	a, err := netip.ParseAddr(h.Spec.Address)
	if err != nil {
		return netip.Addr{}, false
	}
	a = a.Unmap()
	if a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// Allocate decides the addresses of every Service that Manages accepts,
// keyed by namespace/name. The same input always gives the same result.
func Allocate(in Input) map[types.NamespacedName]Outcome {
	var svcs []*corev1.Service
	for _, s := range in.Services {
		if Manages(s) {
			svcs = append(svcs, s)
		}
	}
	if len(in.Pool) > 0 {
		return fromPool(svcs, newPool(in.Pool))
	}
	return fromHosts(svcs, in.HostAddresses, reservedTable(in.Reserved))
}

// fromHosts gives every Service all host addresses, or none: its ports are
// the same on every host, so a conflict on one is a conflict on all.
func fromHosts(svcs []*corev1.Service, hosts []netip.Addr, reserved map[Port]string) map[types.NamespacedName]Outcome {
	hosts = slices.Compact(slices.SortedFunc(slices.Values(hosts), netip.Addr.Compare))
	byPriority(svcs, func(s *corev1.Service) bool {
		return slices.ContainsFunc(statusAddresses(s), func(a netip.Addr) bool { return slices.Contains(hosts, a) })
	})
	out := make(map[types.NamespacedName]Outcome, len(svcs))
	c := claims{}
	for _, s := range svcs {
		out[keyOf(s)] = hostOutcome(s, hosts, reserved, c)
	}
	return out
}

// hostOutcome places s on the hosts unless a reserved port, a missing
// address of its family or another Service's port is in the way.
func hostOutcome(s *corev1.Service, hosts []netip.Addr, reserved map[Port]string, c claims) Outcome {
	ports := portsOf(s)
	for _, p := range ports {
		if name, ok := reserved[p]; ok {
			return Outcome{Problem: fmt.Sprintf("port %s is used by %s on the hosts; choose another port", p, name)}
		}
	}
	addrs := slices.DeleteFunc(slices.Clone(hosts), func(a netip.Addr) bool { return !familyOK(s, a) })
	if len(addrs) == 0 {
		return Outcome{Problem: fmt.Sprintf("no Ready host has %s; the Service gets the hosts' addresses once one is Ready", familyWords(s))}
	}
	for _, a := range addrs {
		if msg, ok := c.conflict(a, ports); ok {
			return Outcome{Problem: msg}
		}
	}
	for _, a := range addrs {
		c.take(a, ports, keyOf(s))
	}
	return Outcome{Addresses: addrs}
}

// reservedTable indexes reserved, with ssh added; the first name wins.
func reservedTable(reserved []ReservedPort) map[Port]string {
	t := map[Port]string{}
	for _, r := range append(slices.Clone(reserved), sshPort) {
		p := Port{Port: r.Port, Protocol: cmp.Or(r.Protocol, corev1.ProtocolTCP)}
		if _, ok := t[p]; !ok {
			t[p] = r.Name
		}
	}
	return t
}

// claims records which Service holds each port of each address.
type claims map[netip.Addr]map[Port]types.NamespacedName

// conflict names the first of ports that another Service holds on a.
func (c claims) conflict(a netip.Addr, ports []Port) (string, bool) {
	for _, p := range ports {
		if holder, ok := c[a][p]; ok {
			return fmt.Sprintf("port %s on %s is already used by Service %s", p, a, holder), true
		}
	}
	return "", false
}

func (c claims) take(a netip.Addr, ports []Port, holder types.NamespacedName) {
	if c[a] == nil {
		c[a] = map[Port]types.NamespacedName{}
	}
	for _, p := range ports {
		c[a][p] = holder
	}
}

// byPriority sorts svcs in the order they get addresses: those that already
// hold one (holds), then the oldest, then by namespace/name, so that a
// newcomer never takes what a running Service serves on.
func byPriority(svcs []*corev1.Service, holds func(*corev1.Service) bool) {
	rank := func(s *corev1.Service) int {
		if holds(s) {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(svcs, func(a, b *corev1.Service) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name))
	})
}

// portsOf are svc's ports; the API defaults an empty protocol to TCP.
func portsOf(svc *corev1.Service) []Port {
	ports := make([]Port, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		ports = append(ports, Port{Port: p.Port, Protocol: cmp.Or(p.Protocol, corev1.ProtocolTCP)})
	}
	return ports
}

func portsString(ports []Port) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// statusAddresses are the IPs in svc's status, in order.
func statusAddresses(svc *corev1.Service) []netip.Addr {
	var addrs []netip.Addr
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(ing.IP); err == nil {
			addrs = append(addrs, a.Unmap())
		}
	}
	return addrs
}

// familyOK tells whether a is of one of svc's IP families: kube-proxy
// ignores a load-balancer IP of another family. No families means any.
func familyOK(svc *corev1.Service, a netip.Addr) bool {
	if len(svc.Spec.IPFamilies) == 0 {
		return true
	}
	want := corev1.IPv6Protocol
	if a.Is4() {
		want = corev1.IPv4Protocol
	}
	return slices.Contains(svc.Spec.IPFamilies, want)
}

// familyWords is "an address", or "an IPv4 address" for a single-stack svc.
func familyWords(svc *corev1.Service) string {
	if len(svc.Spec.IPFamilies) != 1 {
		return "an address"
	}
	return "an " + string(svc.Spec.IPFamilies[0]) + " address"
}

func keyOf(svc *corev1.Service) types.NamespacedName {
	return types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
}
