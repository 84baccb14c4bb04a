package join

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Names of the RBAC objects InstallServerObjects keeps.
const (
	clusterInfoReader = "fargo:cluster-info-reader"
	hostBootstrapper  = "fargo:host-bootstrapper"
	// HostRole is the ClusterRole of joined hosts, bound to HostGroup.
	HostRole = "fargo:host"
)

// InstallServerObjects creates, or brings back to what this version wants,
// everything the server side of joining needs: SystemNamespace, the
// cluster-info ConfigMap naming server and caPEM, the RBAC of bootstrapping
// and of joined hosts, and the admission policy that keeps hosts to their
// own objects. It is idempotent; objects already right are not written.
func InstallServerObjects(ctx context.Context, cs kubernetes.Interface, server string, caPEM []byte) error {
	if err := ensureNamespace(ctx, cs, v1.SystemNamespace); err != nil {
		return err
	}
	kubeconfig, err := clusterInfoKubeconfig(server, caPEM)
	if err != nil {
		return err
	}
	if err := ensureClusterInfo(ctx, cs, kubeconfig); err != nil {
		return err
	}
	rbac, vap := cs.RbacV1(), cs.AdmissionregistrationV1()
	return errors.Join(
		apply(ctx, "Role", rbac.Roles(metav1.NamespacePublic), clusterInfoRole(), syncRole),
		apply(ctx, "RoleBinding", rbac.RoleBindings(metav1.NamespacePublic), clusterInfoRoleBinding(), syncRoleBinding),
		apply(ctx, "ClusterRoleBinding", rbac.ClusterRoleBindings(), bootstrapperBinding(), syncClusterRoleBinding),
		apply(ctx, "ClusterRole", rbac.ClusterRoles(), hostClusterRole(), syncClusterRole),
		apply(ctx, "ClusterRoleBinding", rbac.ClusterRoleBindings(), hostClusterRoleBinding(), syncClusterRoleBinding),
		apply(ctx, "ClusterRoleBinding", rbac.ClusterRoleBindings(), kubeletClientBinding(), syncClusterRoleBinding),
		apply(ctx, "ValidatingAdmissionPolicy", vap.ValidatingAdmissionPolicies(), hostPolicy(), syncPolicy),
		apply(ctx, "ValidatingAdmissionPolicyBinding", vap.ValidatingAdmissionPolicyBindings(), hostPolicyBinding(), syncPolicyBinding),
	)
}

// client is what apply needs of a typed client-go resource client.
type client[T metav1.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// apply creates want, or updates the stored object when sync, which copies
// want's content into have, reports that it changed something. Errors
// name the object as kind and name.
func apply[T metav1.Object](ctx context.Context, kind string, c client[T], want T, sync func(have, want T) bool) error {
	have, err := c.Get(ctx, want.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && sync(have, want):
		_, err = c.Update(ctx, have, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, want.GetName(), err)
	}
	return nil
}

// ensureNamespace creates the namespace called name when it is missing.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return apply(ctx, "Namespace", cs.CoreV1().Namespaces(), ns, func(_, _ *corev1.Namespace) bool { return false })
}

// clusterInfoKubeconfig is what kube-public/cluster-info publishes: the
// server and its CA, no credentials.
func clusterInfoKubeconfig(server string, caPEM []byte) (string, error) {
	if _, err := parseCerts(caPEM); err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[""] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return "", fmt.Errorf("encoding cluster-info: %w", err)
	}
	return string(data), nil
}

// ensureClusterInfo writes kubeconfig into kube-public/cluster-info. When
// the content changes, the signatures of the old content go too, so that a
// host waits for the bootstrap-signer instead of refusing a stale signature.
func ensureClusterInfo(ctx context.Context, cs kubernetes.Interface, kubeconfig string) error {
	cms := cs.CoreV1().ConfigMaps(metav1.NamespacePublic)
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.ConfigMapClusterInfo, Namespace: metav1.NamespacePublic},
		Data:       map[string]string{bootstrapapi.KubeConfigKey: kubeconfig},
	}
	return apply(ctx, "ConfigMap", cms, want, func(have, want *corev1.ConfigMap) bool {
		if have.Data[bootstrapapi.KubeConfigKey] == kubeconfig {
			return false
		}
		data := maps.Clone(want.Data)
		for k, v := range have.Data {
			if !strings.HasPrefix(k, bootstrapapi.JWSSignatureKeyPrefix) && k != bootstrapapi.KubeConfigKey {
				data[k] = v
			}
		}
		have.Data = data
		return true
	})
}

// clusterInfoRole lets BootstrapGroup read cluster-info: anonymous auth is
// off, so unlike kubeadm's the reader must be the token itself.
func clusterInfoRole() *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: clusterInfoReader, Namespace: metav1.NamespacePublic},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"configmaps"},
			ResourceNames: []string{bootstrapapi.ConfigMapClusterInfo}, Verbs: []string{"get"},
		}},
	}
}

func clusterInfoRoleBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: clusterInfoReader, Namespace: metav1.NamespacePublic},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: clusterInfoReader},
		Subjects:   []rbacv1.Subject{group(BootstrapGroup)},
	}
}

// bootstrapperBinding gives BootstrapGroup the built-in role that creates
// and watches certificate signing requests.
func bootstrapperBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: hostBootstrapper},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
		Subjects:   []rbacv1.Subject{group(BootstrapGroup)},
	}
}

func hostClusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: HostRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: HostRole},
		Subjects:   []rbacv1.Subject{group(HostGroup)},
	}
}

// KubeletClientUser is the apiserver's user name at kubelets (the CN of
// its --kubelet-client-certificate).
const KubeletClientUser = "kube-apiserver-kubelet-client"

// kubeletClientBinding lets the apiserver use every pod-node's kubelet
// API (logs, exec, attach, port-forward), as kubeadm binds it.
func kubeletClientBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "fargo:" + KubeletClientUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: KubeletClientUser}},
	}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

// hostClusterRole is what a host agent does: serve its pod-nodes like a
// kubelet (nodes, node leases, pods and their status, events, serving
// certificates, the kubelet API's reviews), read what pods reference,
// keep its Host and heartbeat Lease. The admission policy
// narrows the writes to the host's own objects.
func hostClusterRole() *rbacv1.ClusterRole {
	read := []string{"get", "list", "watch"}
	write := []string{"create", "update", "patch"}
	rule := func(group string, resources []string, verbs ...[]string) rbacv1.PolicyRule {
		r := rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources}
		for _, v := range verbs {
			r.Verbs = append(r.Verbs, v...)
		}
		return r
	}
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: HostRole},
		Rules: []rbacv1.PolicyRule{
			rule("", []string{"nodes"}, read, []string{"update", "patch"}),
			rule("", []string{"nodes/status"}, []string{"update", "patch"}),
			rule("", []string{"pods"}, read, []string{"delete"}),
			rule("", []string{"pods/status"}, []string{"update", "patch"}),
			rule("", []string{"events"}, write),
			rule("events.k8s.io", []string{"events"}, write),
			rule("coordination.k8s.io", []string{"leases"}, read, write, []string{"delete"}),
			rule(v1.GroupName, []string{v1.HostPlural, v1.HostPlural + "/status"}, read, write),
			// The log router reads a pod's profile for its logging credentials.
			rule(v1.GroupName, []string{v1.Plural}, read),
			rule("", []string{"configmaps", "secrets", "services", "endpoints"}, read),
			// Service proxying reads EndpointSlices, endpoints' successor.
			rule("discovery.k8s.io", []string{"endpointslices"}, read),
			// kube-proxy (internal/serviceproxy) also follows ServiceCIDRs.
			rule("networking.k8s.io", []string{"servicecidrs"}, read),
			rule("", []string{"serviceaccounts/token"}, []string{"create"}),
			// Each pod-node's kubelet serving certificate (internal/servingcert).
			rule("certificates.k8s.io", []string{"certificatesigningrequests"}, read, []string{"create"}),
			// The kubelet API checks its callers as a kubelet does.
			rule("authentication.k8s.io", []string{"tokenreviews"}, []string{"create"}),
			rule("authorization.k8s.io", []string{"subjectaccessreviews"}, []string{"create"}),
		},
	}
}

// The sync* functions copy want's content into have and report whether
// that changed it; metadata other than the name is left as stored.

func syncRole(have, want *rbacv1.Role) bool {
	if equality.Semantic.DeepEqual(have.Rules, want.Rules) {
		return false
	}
	have.Rules = want.Rules
	return true
}

func syncClusterRole(have, want *rbacv1.ClusterRole) bool {
	if equality.Semantic.DeepEqual(have.Rules, want.Rules) {
		return false
	}
	have.Rules = want.Rules
	return true
}

// A binding's roleRef cannot change; ours never does, so only subjects are
// synced and a foreign roleRef makes the update fail loudly.
func syncRoleBinding(have, want *rbacv1.RoleBinding) bool {
	if equality.Semantic.DeepEqual(have.Subjects, want.Subjects) && have.RoleRef == want.RoleRef {
		return false
	}
	have.Subjects, have.RoleRef = want.Subjects, want.RoleRef
	return true
}

func syncClusterRoleBinding(have, want *rbacv1.ClusterRoleBinding) bool {
	if equality.Semantic.DeepEqual(have.Subjects, want.Subjects) && have.RoleRef == want.RoleRef {
		return false
	}
	have.Subjects, have.RoleRef = want.Subjects, want.RoleRef
	return true
}
