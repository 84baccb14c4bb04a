package metricsapi

import (
	"fmt"
	"net"

	"github.com/fargo-dev/fargo/internal/pki"
)

// UserName is metrics-server's identity towards the apiserver and the
// kubelets (its client certificate's common name), as RBAC names it.
const UserName = "system:metrics-server"

// credentialFiles are metrics-server's certificates.
type credentialFiles struct {
	serving, client pki.Pair
	// caBundle verifies the serving certificate: the APIService's.
	caBundle []byte
}

// ensureCredentials issues (or reuses) the serving certificate, for the
// Service's names and the address the aggregator dials, and the client
// certificate, and writes the kubeconfig that uses the latter.
func ensureCredentials(cfg Config) (credentialFiles, error) {
	f := credentialFiles{caBundle: cfg.CA.CertPEM()}
	var err error
	f.serving, err = cfg.CA.Ensure(cfg.PKIDir, pki.Leaf{
		Name: "metrics-server", CommonName: "metrics-server", Usage: pki.ServerAuth,
		DNSNames: []string{serviceName, serviceName + "." + namespace, serviceName + "." + namespace + ".svc"},
		IPs:      []net.IP{cfg.Address},
	})
	if err != nil {
		return f, fmt.Errorf("metrics-server serving certificate: %w", err)
	}
	f.client, err = cfg.CA.Ensure(cfg.PKIDir, pki.Leaf{Name: "metrics-server-client", CommonName: UserName, Usage: pki.ClientAuth})
	if err != nil {
		return f, fmt.Errorf("metrics-server client certificate: %w", err)
	}
	return f, pki.WriteKubeconfig(cfg.Kubeconfig, cfg.ServerURL, cfg.CA.CertFile, f.client, UserName)
}
