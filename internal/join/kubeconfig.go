package join

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fargo-dev/fargo/internal/pki"
)

// kubeconfigCluster names the cluster and context of a host kubeconfig.
const kubeconfigCluster = "fargo"

// writeKubeconfig writes a self-contained kubeconfig for the host: server,
// CA, and the host's certificate and key embedded, mode 0600.
func writeKubeconfig(path, server string, ca []byte, host string, cert, key []byte) error {
	user := HostUser(host)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[kubeconfigCluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[kubeconfigCluster] = &clientcmdapi.Context{Cluster: kubeconfigCluster, AuthInfo: user}
	cfg.CurrentContext = kubeconfigCluster
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return pki.WriteFileAtomic(path, data, 0o600)
}

// checkKubeconfig returns nil when the kubeconfig at path can be used as
// is: for server, with a CA whose pin is caHash, and credentials that
// checkCredentials accepts until validUntil. Otherwise it says why not.
func checkKubeconfig(path, server, caHash, host string, validUntil time.Time) error {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return fmt.Errorf("no usable %s: %w", path, err)
	}
	current := cfg.Contexts[cfg.CurrentContext]
	if current == nil {
		return fmt.Errorf("%s has no current context", path)
	}
	cluster, user := cfg.Clusters[current.Cluster], cfg.AuthInfos[current.AuthInfo]
	if cluster == nil || user == nil {
		return fmt.Errorf("%s: context %q lacks its cluster or user", path, cfg.CurrentContext)
	}
	if cluster.Server != server {
		return fmt.Errorf("%s is for server %s, not %s", path, cluster.Server, server)
	}
	if err := checkPin(cluster.CertificateAuthorityData, caHash); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := checkCredentials(cluster.CertificateAuthorityData, user.ClientCertificateData, user.ClientKeyData, host, validUntil); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkPin fails unless the CA bundle holds the CA pinned by caHash.
func checkPin(ca []byte, caHash string) error {
	certs, err := parseCerts(ca)
	if err != nil {
		return err
	}
	for _, c := range certs {
		if certHash(c) == caHash {
			return nil
		}
	}
	return fmt.Errorf("its CA is not the one the join token pins (%s)", caHash)
}

// checkCredentials fails unless cert and key are a pair, cert is a client
// certificate of host (CN HostUser(host), O [HostGroup]) signed by ca, and
// it is valid now and still at validUntil.
func checkCredentials(ca, cert, key []byte, host string, validUntil time.Time) error {
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return fmt.Errorf("client certificate and key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return err
		}
	}
	if leaf.Subject.CommonName != HostUser(host) || !slices.Equal(leaf.Subject.Organization, []string{HostGroup}) {
		return fmt.Errorf("the certificate is for %s in %v, not %s in [%s]",
			leaf.Subject.CommonName, leaf.Subject.Organization, HostUser(host), HostGroup)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return errors.New("no CA certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("the certificate does not verify: %w", err)
	}
	if !leaf.NotAfter.After(validUntil) {
		return fmt.Errorf("the certificate expires at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
