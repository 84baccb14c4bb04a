package webhook

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fargo-dev/fargo/internal/pki"
)

// WriteAPIServerConfig writes the two files with which the kube-apiserver
// presents its webhook client certificate to fargo's webhook at host (and
// only there: other webhooks get no credential): an AdmissionConfiguration
// at configPath naming a kubeconfig at kubeconfigPath.
func WriteAPIServerConfig(configPath, kubeconfigPath, host string, client pki.Pair) error {
	cert, key, err := client.Read()
	if err != nil {
		return err
	}
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.AuthInfos[host] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	data, err := clientcmd.Write(*kubeconfig)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(kubeconfigPath, data, 0o600); err != nil {
		return err
	}
	const plugin = `- name: %s
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: %q
`
	config := "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n" +
		fmt.Sprintf(plugin, "MutatingAdmissionWebhook", kubeconfigPath) +
		fmt.Sprintf(plugin, "ValidatingAdmissionWebhook", kubeconfigPath)
	return pki.WriteFileAtomic(configPath, []byte(config), 0o600)
}
