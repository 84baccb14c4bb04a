package controlplane

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fargo-dev/fargo/internal/pki"
)

// writeKubeconfig writes a self-contained kubeconfig (certificates embedded)
// for the client pair to path, mode 0600: it is a credential.
func writeKubeconfig(path, server string, ca *pki.Authority, client pki.Pair, user string) error {
	cert, key, err := client.Read()
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["fargo"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca.CertPEM()}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["fargo"] = &clientcmdapi.Context{Cluster: "fargo", AuthInfo: user}
	cfg.CurrentContext = "fargo"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return pki.WriteFileAtomic(path, data, 0o600)
}

// copyKubeconfig copies the admin kubeconfig to the path the user asked for.
func copyKubeconfig(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return fmt.Errorf("--write-kubeconfig %s: %w", to, err)
	}
	if err := pki.WriteFileAtomic(to, data, 0o600); err != nil {
		return fmt.Errorf("--write-kubeconfig %s: %w", to, err)
	}
	return nil
}
