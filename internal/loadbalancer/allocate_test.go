package loadbalancer

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// t0 has whole seconds: metav1.Time keeps no more through JSON.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// svcOpt changes a test Service.
type svcOpt func(*corev1.Service)

// lbService is a LoadBalancer Service default/name on 80/TCP created at
// t0, changed by opts.
func lbService(name string, opts ...svcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, CreationTimestamp: metav1.NewTime(t0)},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "p80", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ports replaces the ports; each is "80/TCP"-like Port.
func ports(ps ...Port) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Ports = nil
		for _, p := range ps {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: p.Port, Protocol: p.Protocol})
		}
	}
}

// age makes the Service created d after t0.
func age(d time.Duration) svcOpt {
	return func(s *corev1.Service) { s.CreationTimestamp = metav1.NewTime(t0.Add(d)) }
}

func holding(ips ...string) svcOpt {
	return func(s *corev1.Service) { s.Status.LoadBalancer.Ingress = ingressOf(addrs(ips...)) }
}

func asking(ip string) svcOpt { return func(s *corev1.Service) { s.Spec.LoadBalancerIP = ip } }

func class(c string) svcOpt { return func(s *corev1.Service) { s.Spec.LoadBalancerClass = &c } }

func typed(t corev1.ServiceType) svcOpt { return func(s *corev1.Service) { s.Spec.Type = t } }

func families(f ...corev1.IPFamily) svcOpt { return func(s *corev1.Service) { s.Spec.IPFamilies = f } }

func inNamespace(ns string) svcOpt { return func(s *corev1.Service) { s.Namespace = ns } }

func addrs(ips ...string) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out
}

func prefixes(cidrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

func tcp(p int32) Port { return Port{Port: p, Protocol: corev1.ProtocolTCP} }
func udp(p int32) Port { return Port{Port: p, Protocol: corev1.ProtocolUDP} }

func got(ips ...string) Outcome  { return Outcome{Addresses: addrs(ips...)} }
func pending(msg string) Outcome { return Outcome{Problem: msg} }

func key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "default", Name: name}
}

var apiserver = ReservedPort{Port: 6443, Protocol: corev1.ProtocolTCP, Name: "kube-apiserver"}

func TestAllocateFromHosts(t *testing.T) {
	hosts := addrs("10.0.0.6", "10.0.0.5")
	for _, tc := range []struct {
		name  string
		svcs  []*corev1.Service
		hosts []netip.Addr
		want  map[types.NamespacedName]Outcome
	}{{
		name: "every host address, sorted",
		svcs: []*corev1.Service{lbService("web")},
		want: map[types.NamespacedName]Outcome{key("web"): got("10.0.0.5", "10.0.0.6")},
	}, {
		name:  "no Ready host",
		svcs:  []*corev1.Service{lbService("web")},
		hosts: []netip.Addr{},
		want: map[types.NamespacedName]Outcome{key("web"): pending(
			"no Ready host has an address; the Service gets the hosts' addresses once one is Ready")},
	}, {
		name: "older Service keeps the port, the other names it",
		svcs: []*corev1.Service{lbService("game-2049", age(time.Minute)), lbService("game-2048")},
		want: map[types.NamespacedName]Outcome{
			key("game-2048"): got("10.0.0.5", "10.0.0.6"),
			key("game-2049"): pending("port 80/TCP on 10.0.0.5 is already used by Service default/game-2048"),
		},
	}, {
		name: "a Service already holding the addresses beats an older one",
		svcs: []*corev1.Service{lbService("old"), lbService("new", age(time.Hour), holding("10.0.0.5", "10.0.0.6"))},
		want: map[types.NamespacedName]Outcome{
			key("new"): got("10.0.0.5", "10.0.0.6"),
			key("old"): pending("port 80/TCP on 10.0.0.5 is already used by Service default/new"),
		},
	}, {
		name: "holding an address of a host gone counts for nothing",
		svcs: []*corev1.Service{lbService("old"), lbService("new", age(time.Hour), holding("10.0.0.9"))},
		want: map[types.NamespacedName]Outcome{
			key("old"): got("10.0.0.5", "10.0.0.6"),
			key("new"): pending("port 80/TCP on 10.0.0.5 is already used by Service default/old"),
		},
	}, {
		name: "same age: namespace then name order",
		svcs: []*corev1.Service{lbService("a", inNamespace("zz")), lbService("b"), lbService("a")},
		want: map[types.NamespacedName]Outcome{
			key("a"):                     got("10.0.0.5", "10.0.0.6"),
			key("b"):                     pending("port 80/TCP on 10.0.0.5 is already used by Service default/a"),
			{Namespace: "zz", Name: "a"}: pending("port 80/TCP on 10.0.0.5 is already used by Service default/a"),
		},
	}, {
		name: "different ports and protocols share the addresses",
		svcs: []*corev1.Service{lbService("web"), lbService("https", ports(tcp(443))), lbService("dns", ports(udp(80)))},
		want: map[types.NamespacedName]Outcome{
			key("web"):   got("10.0.0.5", "10.0.0.6"),
			key("https"): got("10.0.0.5", "10.0.0.6"),
			key("dns"):   got("10.0.0.5", "10.0.0.6"),
		},
	}, {
		name: "an empty protocol is TCP",
		svcs: []*corev1.Service{lbService("web"), lbService("bare", age(time.Second), ports(Port{Port: 80}))},
		want: map[types.NamespacedName]Outcome{
			key("web"):  got("10.0.0.5", "10.0.0.6"),
			key("bare"): pending("port 80/TCP on 10.0.0.5 is already used by Service default/web"),
		},
	}, {
		name: "the conflict named is the first port in the way",
		svcs: []*corev1.Service{lbService("web", ports(tcp(80), tcp(443))), lbService("tls", age(time.Second), ports(tcp(8443), tcp(443), tcp(80)))},
		want: map[types.NamespacedName]Outcome{
			key("web"): got("10.0.0.5", "10.0.0.6"),
			key("tls"): pending("port 443/TCP on 10.0.0.5 is already used by Service default/web"),
		},
	}, {
		name: "reserved ports, ssh always",
		svcs: []*corev1.Service{lbService("api", ports(tcp(443), tcp(6443))), lbService("ssh", ports(tcp(22))), lbService("syslog", ports(udp(22)))},
		want: map[types.NamespacedName]Outcome{
			key("api"):    pending("port 6443/TCP is used by kube-apiserver on the hosts; choose another port"),
			key("ssh"):    pending("port 22/TCP is used by ssh on the hosts; choose another port"),
			key("syslog"): got("10.0.0.5", "10.0.0.6"),
		},
	}, {
		name: "a pending Service holds nothing",
		svcs: []*corev1.Service{lbService("a", ports(tcp(80), tcp(6443))), lbService("b", age(time.Second))},
		want: map[types.NamespacedName]Outcome{
			key("a"): pending("port 6443/TCP is used by kube-apiserver on the hosts; choose another port"),
			key("b"): got("10.0.0.5", "10.0.0.6"),
		},
	}, {
		name:  "only addresses of the Service's family",
		svcs:  []*corev1.Service{lbService("v4", families(corev1.IPv4Protocol)), lbService("v6", families(corev1.IPv6Protocol), ports(tcp(81)))},
		hosts: addrs("10.0.0.5", "fd00::5"),
		want: map[types.NamespacedName]Outcome{
			key("v4"): got("10.0.0.5"),
			key("v6"): got("fd00::5"),
		},
	}, {
		name: "no host of the Service's family",
		svcs: []*corev1.Service{lbService("v6", families(corev1.IPv6Protocol))},
		want: map[types.NamespacedName]Outcome{key("v6"): pending(
			"no Ready host has an IPv6 address; the Service gets the hosts' addresses once one is Ready")},
	}, {
		name: "other classes and types are not this controller's",
		svcs: []*corev1.Service{
			lbService("mine", class(Class)),
			lbService("theirs", class("example.com/lb")),
			lbService("internal", typed(corev1.ServiceTypeClusterIP)),
			lbService("np", typed(corev1.ServiceTypeNodePort)),
		},
		want: map[types.NamespacedName]Outcome{key("mine"): got("10.0.0.5", "10.0.0.6")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Services: tc.svcs, HostAddresses: hosts, Reserved: []ReservedPort{apiserver}}
			if tc.hosts != nil {
				in.HostAddresses = tc.hosts
			}
			if got := Allocate(in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Allocate:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestAllocateFromPool(t *testing.T) {
	for _, tc := range []struct {
		name string
		pool []netip.Prefix
		svcs []*corev1.Service
		want map[types.NamespacedName]Outcome
	}{{
		name: "Services on the same port get different addresses, network address skipped",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("b", age(time.Second)), lbService("a")},
		want: map[types.NamespacedName]Outcome{key("a"): got("192.0.2.1"), key("b"): got("192.0.2.2")},
	}, {
		name: "different ports share the first address",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("web"), lbService("tls", ports(tcp(443)))},
		want: map[types.NamespacedName]Outcome{key("web"): got("192.0.2.1"), key("tls"): got("192.0.2.1")},
	}, {
		name: "a /32 is one address, a /31 two",
		pool: prefixes("192.0.2.9/32", "198.51.100.0/31"),
		svcs: []*corev1.Service{lbService("a"), lbService("b", age(1)), lbService("c", age(2)), lbService("d", age(3))},
		want: map[types.NamespacedName]Outcome{
			key("a"): got("192.0.2.9"), key("b"): got("198.51.100.0"), key("c"): got("198.51.100.1"),
			key("d"): pending("no address of the pool 192.0.2.9/32, 198.51.100.0/31 is free for 80/TCP; the Service stays pending until one is"),
		},
	}, {
		name: "broadcast skipped: a /30 has two",
		pool: prefixes("192.0.2.0/30"),
		svcs: []*corev1.Service{lbService("a"), lbService("b", age(1)), lbService("c", age(2), ports(tcp(80), tcp(443)))},
		want: map[types.NamespacedName]Outcome{
			key("a"): got("192.0.2.1"), key("b"): got("192.0.2.2"),
			key("c"): pending("no address of the pool 192.0.2.0/30 is free for 80/TCP, 443/TCP; the Service stays pending until one is"),
		},
	}, {
		name: "a Service keeps its address ahead of older newcomers",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("old"), lbService("new", age(time.Hour), holding("192.0.2.1"))},
		want: map[types.NamespacedName]Outcome{key("new"): got("192.0.2.1"), key("old"): got("192.0.2.2")},
	}, {
		name: "an address out of the pool is replaced",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("web", holding("10.0.0.5", "192.0.2.0"))},
		want: map[types.NamespacedName]Outcome{key("web"): got("192.0.2.1")},
	}, {
		name: "of two holders in conflict the older keeps, the other moves",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("b", age(time.Second), holding("192.0.2.1")), lbService("a", holding("192.0.2.1")),
			lbService("c", age(time.Minute), holding("192.0.2.2"))},
		want: map[types.NamespacedName]Outcome{key("a"): got("192.0.2.1"), key("c"): got("192.0.2.2"), key("b"): got("192.0.2.3")},
	}, {
		name: "loadBalancerIP honoured, even on a later address",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("web", asking("192.0.2.5"))},
		want: map[types.NamespacedName]Outcome{key("web"): got("192.0.2.5")},
	}, {
		name: "a changed loadBalancerIP moves the Service",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("web", holding("192.0.2.1"), asking("192.0.2.5"))},
		want: map[types.NamespacedName]Outcome{key("web"): got("192.0.2.5")},
	}, {
		name: "loadBalancerIP out of the pool",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("web", asking("203.0.113.7")), lbService("bad", asking("nonsense")), lbService("bcast", asking("192.0.2.7"))},
		want: map[types.NamespacedName]Outcome{
			key("web"):   pending("loadBalancerIP 203.0.113.7 is not in the address pool 192.0.2.0/29; choose one in the pool or unset it"),
			key("bad"):   pending("loadBalancerIP nonsense is not in the address pool 192.0.2.0/29; choose one in the pool or unset it"),
			key("bcast"): pending("loadBalancerIP 192.0.2.7 is not in the address pool 192.0.2.0/29; choose one in the pool or unset it"),
		},
	}, {
		name: "loadBalancerIP taken on that port",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("first"), lbService("second", age(time.Second), asking("192.0.2.1"))},
		want: map[types.NamespacedName]Outcome{
			key("first"):  got("192.0.2.1"),
			key("second"): pending("port 80/TCP on 192.0.2.1 is already used by Service default/first"),
		},
	}, {
		name: "no reserved ports on pool addresses",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("ssh", ports(tcp(22), tcp(6443)))},
		want: map[types.NamespacedName]Outcome{key("ssh"): got("192.0.2.1")},
	}, {
		name: "prefixes of another family are skipped",
		pool: prefixes("2001:db8::/64", "192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("v4", families(corev1.IPv4Protocol)), lbService("any", ports(tcp(81))),
			lbService("v6", families(corev1.IPv6Protocol), asking("192.0.2.3"))},
		want: map[types.NamespacedName]Outcome{
			key("v4"):  got("192.0.2.1"),
			key("any"): got("2001:db8::1"),
			key("v6"):  pending("loadBalancerIP 192.0.2.3 is not of the Service's ipFamilies; choose an IPv6 address"),
		},
	}, {
		name: "no prefix of the Service's family",
		pool: prefixes("192.0.2.0/29"),
		svcs: []*corev1.Service{lbService("v6", families(corev1.IPv6Protocol))},
		want: map[types.NamespacedName]Outcome{key("v6"): pending(
			"the address pool 192.0.2.0/29 has no IPv6 address, which the Service's ipFamilies ask for")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Services: tc.svcs, HostAddresses: addrs("10.0.0.5"), Pool: tc.pool, Reserved: []ReservedPort{apiserver}}
			if got := Allocate(in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Allocate:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestAllocateIsPure checks that Allocate leaves its input as it was (it
// sorts a copy) and gives the same result for any order of Services.
func TestAllocateIsPure(t *testing.T) {
	svcs := []*corev1.Service{lbService("c"), lbService("a"), lbService("b")}
	in := Input{Services: svcs, HostAddresses: addrs("10.0.0.5")}
	first := Allocate(in)
	if svcs[0].Name != "c" || svcs[1].Name != "a" {
		t.Errorf("Allocate reordered its input: %s, %s, %s", svcs[0].Name, svcs[1].Name, svcs[2].Name)
	}
	in.Services = []*corev1.Service{svcs[2], svcs[1], svcs[0]}
	if second := Allocate(in); !reflect.DeepEqual(first, second) {
		t.Errorf("order of Services changed the result:\n%v\n%v", first, second)
	}
}

func TestReadyAddresses(t *testing.T) {
	host := func(name, addr string, ready metav1.ConditionStatus) v1.Host {
		h := v1.Host{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.HostSpec{Address: addr}}
		if ready != "" {
			h.Status.Conditions = []metav1.Condition{{Type: v1.HostReady, Status: ready}}
		}
		return h
	}
	hosts := []v1.Host{
		host("b", "10.0.0.6", metav1.ConditionTrue),
		host("a", "10.0.0.5", metav1.ConditionTrue),
		host("twin", "10.0.0.5", metav1.ConditionTrue),
		host("down", "10.0.0.7", metav1.ConditionFalse),
		host("new", "10.0.0.8", ""),
		host("noaddr", "", metav1.ConditionTrue),
		host("junk", "ten", metav1.ConditionTrue),
		host("lo", "127.0.0.1", metav1.ConditionTrue),
		host("any", "0.0.0.0", metav1.ConditionTrue),
		host("mapped", "::ffff:10.0.0.9", metav1.ConditionTrue),
		host("v6", "fd00::1", metav1.ConditionTrue),
	}
	want := addrs("10.0.0.5", "10.0.0.6", "10.0.0.9", "fd00::1")
	if got := ReadyAddresses(hosts); !reflect.DeepEqual(got, want) {
		t.Errorf("ReadyAddresses = %v, want %v", got, want)
	}
}

func TestManages(t *testing.T) {
	for _, tc := range []struct {
		svc  *corev1.Service
		want bool
	}{
		{lbService("plain"), true},
		{lbService("ours", class(Class)), true},
		{lbService("theirs", class("example.com/lb")), false},
		{lbService("np", typed(corev1.ServiceTypeNodePort)), false},
		{lbService("cip", typed(corev1.ServiceTypeClusterIP)), false},
	} {
		if got := Manages(tc.svc); got != tc.want {
			t.Errorf("Manages(%s) = %v, want %v", tc.svc.Name, got, tc.want)
		}
	}
}
