package metricsapi

import (
	"fmt"
	"net"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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
	return f, writeKubeconfig(cfg, f.client)
}

// writeKubeconfig writes a kubeconfig naming the certificate files, mode
// 0600: it is a credential.
func writeKubeconfig(cfg Config, client pki.Pair) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["fargo"] = &clientcmdapi.Cluster{Server: cfg.ServerURL, CertificateAuthority: cfg.CA.CertFile}
	kc.AuthInfos[UserName] = &clientcmdapi.AuthInfo{ClientCertificate: client.CertFile, ClientKey: client.KeyFile}
	kc.Contexts["fargo"] = &clientcmdapi.Context{Cluster: "fargo", AuthInfo: UserName}
	kc.CurrentContext = "fargo"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(cfg.Kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("metrics-server kubeconfig: %w", err)
	}
	return nil
}
