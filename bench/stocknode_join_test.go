package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// The stock node joins `fargo up` the way `kubeadm join` joins a node: a
// bootstrap token in a group of its own, the two ClusterRoleBindings
// kubeadm creates for such tokens (request a client certificate; have it
// approved by the controller manager's csrapproving controller), and a
// bootstrap kubeconfig. The kubelet then runs as system:node:<name>,
// under the Node authorizer and NodeRestriction, as on any cluster.

// stockBootstrapGroup is the extra group of the stock node's token; the
// bindings name it rather than every bootstrap token (fargo's host
// tokens are bootstrap tokens too).
const stockBootstrapGroup = bootstrapapi.BootstrapDefaultGroup + ":stock-node"

// writeBootstrapKubeconfig creates the stock node's bootstrap token and
// bindings in srv's cluster and writes the kubelet's bootstrap kubeconfig
// to path.
func writeBootstrapKubeconfig(ctx context.Context, b *testing.B, srv *harness.Server, cs kubernetes.Interface, path string) {
	token, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		b.Fatal(err)
	}
	id, secret, _ := strings.Cut(token, ".")
	tokenSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bootstraputil.BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		StringData: map[string]string{
			bootstrapapi.BootstrapTokenIDKey:               id,
			bootstrapapi.BootstrapTokenSecretKey:           secret,
			bootstrapapi.BootstrapTokenUsageAuthentication: "true",
			bootstrapapi.BootstrapTokenExtraGroupsKey:      stockBootstrapGroup,
			bootstrapapi.BootstrapTokenExpirationKey:       time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
			bootstrapapi.BootstrapTokenDescriptionKey:      "bench: the stock node's kubelet TLS bootstrap",
		},
	}
	if _, err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, tokenSecret, metav1.CreateOptions{}); err != nil {
		b.Fatalf("creating the stock node's bootstrap token: %v", err)
	}
	// kubeadm's kubeadm:kubelet-bootstrap and
	// kubeadm:node-autoapprove-bootstrap, for this token's group only.
	for name, role := range map[string]string{
		"bench:stock-node-bootstrap":   "system:node-bootstrapper",
		"bench:stock-node-autoapprove": "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
	} {
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: stockBootstrapGroup}},
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			b.Fatalf("binding %s for the stock node: %v", role, err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["fargo"] = &clientcmdapi.Cluster{
		Server:               srv.RESTConfig(b).Host,
		CertificateAuthority: filepath.Join(srv.DataDir, "pki", "ca.crt"),
	}
	cfg.AuthInfos["kubelet-bootstrap"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["bootstrap"] = &clientcmdapi.Context{Cluster: "fargo", AuthInfo: "kubelet-bootstrap"}
	cfg.CurrentContext = "bootstrap"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		b.Fatal(err)
	}
}

// clusterDNSIP is the ClusterIP of fargo's kube-dns Service, which the
// stock kubelet writes into its pods' resolv.conf as fargo's does.
func clusterDNSIP(ctx context.Context, b *testing.B, cs kubernetes.Interface) string {
	svc, err := cs.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		b.Fatalf("the stock kubelet's clusterDNS is kube-system/kube-dns's ClusterIP: %v", err)
	}
	return svc.Spec.ClusterIP
}

// createStockNamespace creates ns, which no Fargate profile selects, and
// waits for its default ServiceAccount, without which pods are refused.
func createStockNamespace(ctx context.Context, b *testing.B, cs kubernetes.Interface, ns string) {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	testwait.Eventually(b, time.Minute, "namespace "+ns+" has its default ServiceAccount", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// waitNodeReady waits until node name reports Ready, or fails with the
// tails of the stock node's logs.
func waitNodeReady(ctx context.Context, b *testing.B, cs kubernetes.Interface, n *stockNode) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		node, err := cs.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err == nil && nodeReady(node) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("node %s not Ready after 2 minutes (%v)\n%s", n.name, err, n.logTails())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
