package pki

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteKubeconfig writes, mode 0600 (it is a credential), a kubeconfig for
// server that trusts the CA file caFile and names client's certificate
// files as user's; the files are read when it is used, so a renewed
// certificate needs no new kubeconfig.
func WriteKubeconfig(path, server, caFile string, client Pair, user string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["fargo"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificate: client.CertFile, ClientKey: client.KeyFile}
	kc.Contexts["fargo"] = &clientcmdapi.Context{Cluster: "fargo", AuthInfo: user}
	kc.CurrentContext = "fargo"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("kubeconfig for %s: %w", user, err)
	}
	return nil
}
