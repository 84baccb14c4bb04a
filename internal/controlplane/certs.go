package controlplane

import (
	"net"
	"os"

	"github.com/fargo-dev/fargo/internal/pki"
	"github.com/fargo-dev/fargo/internal/webhook"
)

// certs is where every file of the control plane's PKI lives.
type certs struct {
	ca, frontProxyCA, etcdCA *pki.Authority

	apiserver, kubeletClient, etcdClient, frontProxyClient pki.Pair
	etcdServer, etcdPeer                                   pki.Pair
	admin, controllerManager                               pki.Pair
	webhookServing, webhookClient                          pki.Pair

	serviceAccountKey, serviceAccountPub string
	// apiserverChain is the apiserver's certificate followed by the cluster
	// CA: what it serves, so that a joining host can find the CA its token
	// pins in the handshake and verify the server before sending the token.
	apiserverChain string
}

// ensureCerts loads the data dir's PKI, creating what is missing: three CAs
// (cluster, front proxy, etcd), the components' certificates, and the
// service-account signing key. Serving certificates are issued again when
// the addresses they must name change.
func ensureCerts(l Layout, c *Config, advertise net.IP) (*certs, error) {
	dir := l.PKI()
	var (
		s   certs
		err error
	)
	if s.ca, err = pki.LoadOrCreateCA(dir, "ca", "fargo-ca"); err != nil {
		return nil, err
	}
	if s.frontProxyCA, err = pki.LoadOrCreateCA(dir, "front-proxy-ca", "fargo-front-proxy-ca"); err != nil {
		return nil, err
	}
	if s.etcdCA, err = pki.LoadOrCreateCA(dir, "etcd-ca", "fargo-etcd-ca"); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	leaves := []struct {
		ca   *pki.Authority
		into *pki.Pair
		leaf pki.Leaf
	}{
		{s.ca, &s.apiserver, pki.Leaf{Name: "apiserver", CommonName: "kube-apiserver", Usage: pki.ServerAuth,
			DNSNames: apiserverNames(c), IPs: apiserverIPs(c, advertise)}},
		{s.ca, &s.kubeletClient, pki.Leaf{Name: "apiserver-kubelet-client", CommonName: "kube-apiserver-kubelet-client", Usage: pki.ClientAuth}},
		{s.ca, &s.admin, pki.Leaf{Name: "admin", CommonName: "fargo-admin", Organization: []string{"system:masters"}, Usage: pki.ClientAuth}},
		{s.ca, &s.controllerManager, pki.Leaf{Name: "controller-manager", CommonName: "system:kube-controller-manager", Organization: []string{"system:masters"}, Usage: pki.ClientAuth}},
		{s.ca, &s.webhookServing, pki.Leaf{Name: "webhook", CommonName: "fargo-webhook", Usage: pki.ServerAuth, IPs: loopback}},
		{s.ca, &s.webhookClient, pki.Leaf{Name: "apiserver-webhook-client", CommonName: webhook.ClientCommonName, Usage: pki.ClientAuth}},
		{s.frontProxyCA, &s.frontProxyClient, pki.Leaf{Name: "front-proxy-client", CommonName: "front-proxy-client", Usage: pki.ClientAuth}},
		{s.etcdCA, &s.etcdClient, pki.Leaf{Name: "apiserver-etcd-client", CommonName: "kube-apiserver-etcd-client", Usage: pki.ClientAuth}},
		{s.etcdCA, &s.etcdServer, pki.Leaf{Name: "etcd-server", CommonName: "etcd-server", Usage: pki.ServerAuth | pki.ClientAuth,
			DNSNames: []string{"localhost"}, IPs: loopback}},
		{s.etcdCA, &s.etcdPeer, pki.Leaf{Name: "etcd-peer", CommonName: "etcd-peer", Usage: pki.ServerAuth | pki.ClientAuth,
			DNSNames: []string{"localhost"}, IPs: loopback}},
	}
	for _, leaf := range leaves {
		if *leaf.into, err = leaf.ca.Ensure(dir, leaf.leaf); err != nil {
			return nil, err
		}
	}
	if s.apiserverChain, err = writeChain(l.PKIFile("apiserver-chain.crt"), s.apiserver, s.ca); err != nil {
		return nil, err
	}
	s.serviceAccountKey, s.serviceAccountPub = l.PKIFile("sa.key"), l.PKIFile("sa.pub")
	return &s, pki.LoadOrCreateSigningKey(s.serviceAccountKey, s.serviceAccountPub)
}

// writeChain writes leaf's certificate followed by ca's to path, at every
// start, so that it follows a reissued certificate.
func writeChain(path string, leaf pki.Pair, ca *pki.Authority) (string, error) {
	cert, err := os.ReadFile(leaf.CertFile)
	if err != nil {
		return "", err
	}
	return path, pki.WriteFileAtomic(path, append(cert, ca.CertPEM()...), 0o644)
}

func apiserverNames(c *Config) []string {
	names := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + c.ClusterDomain, "localhost"}
	if host, err := os.Hostname(); err == nil && host != "" {
		names = append(names, host)
	}
	for _, san := range c.TLSSANs {
		if net.ParseIP(san) == nil {
			names = append(names, san)
		}
	}
	return names
}

func apiserverIPs(c *Config, advertise net.IP) []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, c.firstServiceIP(), advertise}
	if bind := net.ParseIP(c.BindAddress); bind != nil && !bind.IsUnspecified() {
		ips = append(ips, bind)
	}
	for _, san := range c.TLSSANs {
		if ip := net.ParseIP(san); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}
