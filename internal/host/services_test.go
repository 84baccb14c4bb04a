package host

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"golang.org/x/sys/unix"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/network"
)

func slice(ns, service, addr string, ports ...discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: service + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}}},
		Ports:       ports,
	}
}

// Only the apiserver's and cluster DNS's endpoints become host services
// pods may reach; a user's Service in default named like kube-dns does not.
func TestHostServiceEndpoints(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	got := hostServiceEndpoints([]any{
		slice("default", "kubernetes", "192.0.2.2", discoveryv1.EndpointPort{Port: ptr.To[int32](6443), Protocol: &tcp}),
		slice("kube-system", "kube-dns", "192.0.2.2",
			discoveryv1.EndpointPort{Port: ptr.To[int32](10053), Protocol: &udp},
			discoveryv1.EndpointPort{Port: ptr.To[int32](10053), Protocol: &tcp}),
		slice("default", "kube-dns", "192.0.2.2", discoveryv1.EndpointPort{Port: ptr.To[int32](2379), Protocol: &tcp}),
		slice("team", "kubernetes", "192.0.2.2", discoveryv1.EndpointPort{Port: ptr.To[int32](22), Protocol: &tcp}),
	})
	addr := netip.MustParseAddr("192.0.2.2")
	want := []network.HostService{
		{Addr: addr, Proto: unix.IPPROTO_TCP, Port: 6443},
		{Addr: addr, Proto: unix.IPPROTO_UDP, Port: 10053},
		{Addr: addr, Proto: unix.IPPROTO_TCP, Port: 10053},
	}
	if !slices.Equal(got, want) {
		t.Errorf("host services %v, want %v", got, want)
	}
}

func TestAddressesOfOtherHosts(t *testing.T) {
	hosts := []v1.Host{
		{ObjectMeta: metav1.ObjectMeta{Name: "self"}, Spec: v1.HostSpec{Address: "10.0.0.1"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: v1.HostSpec{Address: "10.0.0.2"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}},
	}
	if got := addressesOf(hosts, "self"); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.2")}) {
		t.Errorf("other hosts' addresses: %v", got)
	}
}
