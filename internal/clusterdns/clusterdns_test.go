package clusterdns

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func testConfig() Config {
	return Config{
		Address: netip.MustParseAddr("192.0.2.10"), ClusterIP: netip.MustParseAddr("172.20.0.10"),
		Domain: "cluster.local", Port: 10053, HealthPort: 10054, ReadyPort: 10055,
		Kubeconfig: "/var/lib/fargo/pki/coredns.kubeconfig", Upstreams: []string{"/etc/resolv.conf", "127.0.0.1:5353"},
	}
}

func TestCorefile(t *testing.T) {
	got := Corefile(testConfig())
	for _, want := range []string{
		".:10053 {",
		"bind 192.0.2.10 127.0.0.1",
		"health 127.0.0.1:10054",
		"ready 127.0.0.1:10055",
		"kubernetes cluster.local in-addr.arpa ip6.arpa {",
		"kubeconfig /var/lib/fargo/pki/coredns.kubeconfig fargo",
		"pods insecure",
		"fallthrough in-addr.arpa ip6.arpa",
		"forward . /etc/resolv.conf 127.0.0.1:5353",
		"cache 30",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("Corefile lacks %q:\n%s", want, got)
		}
	}
}

func TestValidateUpstream(t *testing.T) {
	for _, ok := range []string{"/etc/resolv.conf", "1.1.1.1", "127.0.0.1:5353", "::1"} {
		if err := ValidateUpstream(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"/no/such/resolv.conf": "exists",
		"dns.google":           "neither a resolv.conf path nor an IP",
		"1.1.1.1:port":         "neither",
	} {
		if err := ValidateUpstream(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", bad, err, want)
		}
	}
}

func TestValidateRefusesLoopback(t *testing.T) {
	cfg := testConfig()
	cfg.Address = netip.MustParseAddr("127.0.0.1")
	if err := validate(cfg); err == nil || !strings.Contains(err.Error(), "--advertise-address") {
		t.Errorf("loopback address: %v", err)
	}
}

// kube-dns is a real cluster's: port 53 over UDP and TCP at --cluster-dns,
// to this server's port, and its endpoint follows CoreDNS's readiness.
func TestKubeDNSObjects(t *testing.T) {
	cfg := testConfig()
	svc := service(cfg)
	if *svc.Spec.ClusterIP != "172.20.0.10" || svc.Labels["k8s-app"] != "kube-dns" || svc.Spec.Selector != nil {
		t.Errorf("service: %+v", svc)
	}
	protos := map[string]corev1.Protocol{}
	for _, p := range svc.Spec.Ports {
		if *p.Port != 53 || p.TargetPort.IntValue() != 10053 {
			t.Errorf("port %s: %d -> %v", *p.Name, *p.Port, p.TargetPort)
		}
		protos[*p.Name] = *p.Protocol
	}
	if protos["dns"] != corev1.ProtocolUDP || protos["dns-tcp"] != corev1.ProtocolTCP {
		t.Errorf("ports: %v", protos)
	}
	for _, ready := range []bool{true, false} {
		slice := endpointSlice(cfg, ready)
		ep := slice.Endpoints[0]
		if ep.Addresses[0] != "192.0.2.10" || *ep.Conditions.Ready != ready || slice.Labels["kubernetes.io/service-name"] != "kube-dns" {
			t.Errorf("slice (ready %v): %+v", ready, slice)
		}
	}
}
