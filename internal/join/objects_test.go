package join

import (
	"context"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	admissionregistrationdefaults "k8s.io/kubernetes/pkg/apis/admissionregistration/v1"
	rbacdefaults "k8s.io/kubernetes/pkg/apis/rbac/v1"
)

const server = "https://10.0.0.1:6443"

// writes returns the verbs and resources of the create and update calls cs
// received.
func writes(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestInstallServerObjectsIsIdempotent(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	cs := fake.NewClientset()
	if err := InstallServerObjects(ctx, cs, server, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	if got := len(writes(cs)); got != 10 {
		t.Fatalf("first install wrote %d objects, want 10: %v", got, writes(cs))
	}

	t.Run("second install writes nothing", func(t *testing.T) {
		cs.ClearActions()
		if err := InstallServerObjects(ctx, cs, server, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		if w := writes(cs); len(w) != 0 {
			t.Fatalf("second install wrote %v", w)
		}
	})
	t.Run("restores a changed role", func(t *testing.T) {
		roles := cs.RbacV1().ClusterRoles()
		role, err := roles.Get(ctx, HostRole, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
		if _, err := roles.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		cs.ClearActions()
		if err := InstallServerObjects(ctx, cs, server, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		if w := writes(cs); !slices.Equal(w, []string{"update clusterroles"}) {
			t.Fatalf("wrote %v, want one clusterrole update", w)
		}
		role, _ = roles.Get(ctx, HostRole, metav1.GetOptions{})
		if !equality.Semantic.DeepEqual(role.Rules, hostClusterRole().Rules) {
			t.Fatalf("rules not restored: %v", role.Rules)
		}
	})
}

func TestClusterInfoKeepsSignaturesOfSameContent(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	cs := fake.NewClientset()
	if err := InstallServerObjects(ctx, cs, server, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	cms := cs.CoreV1().ConfigMaps("kube-public")
	// What the bootstrap-signer, and someone else, add.
	cm, _ := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
	cm.Data["jws-kubeconfig-abcdef"] = "sig"
	cm.Data["note"] = "kept"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		server  string
		wantSig bool
	}{
		{name: "same server", server: server, wantSig: true},
		{name: "new server", server: "https://10.0.0.2:6443", wantSig: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := InstallServerObjects(ctx, cs, c.server, ca.CertPEM()); err != nil {
				t.Fatal(err)
			}
			cm, _ := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
			if _, got := cm.Data["jws-kubeconfig-abcdef"]; got != c.wantSig {
				t.Errorf("signature kept = %v, want %v", got, c.wantSig)
			}
			if cm.Data["note"] != "kept" {
				t.Errorf("other keys lost: %v", cm.Data)
			}
			if !strings.Contains(cm.Data["kubeconfig"], c.server) {
				t.Errorf("kubeconfig does not name %s:\n%s", c.server, cm.Data["kubeconfig"])
			}
			if ca, err := clusterCA(cm.Data["kubeconfig"]); err != nil || len(ca) == 0 {
				t.Errorf("kubeconfig has no CA: %v", err)
			}
		})
	}
}

// TestObjectsAreStoredAsWritten applies the apiserver's own defaulting: a
// field it would fill in and we leave out would make every start rewrite
// the object.
func TestObjectsAreStoredAsWritten(t *testing.T) {
	cases := []struct {
		name string
		// objects returns what we write and what the apiserver stores.
		objects func() (written, stored any)
	}{
		{"policy", func() (any, any) {
			p := hostPolicy()
			d := p.DeepCopy()
			admissionregistrationdefaults.SetObjectDefaults_ValidatingAdmissionPolicy(d)
			return p, d
		}},
		{"policy binding", func() (any, any) {
			b := hostPolicyBinding()
			d := b.DeepCopy()
			admissionregistrationdefaults.SetObjectDefaults_ValidatingAdmissionPolicyBinding(d)
			return b, d
		}},
		{"cluster-info binding", func() (any, any) {
			b := clusterInfoRoleBinding()
			d := b.DeepCopy()
			rbacdefaults.SetObjectDefaults_RoleBinding(d)
			return b, d
		}},
		{"bootstrapper binding", func() (any, any) {
			b := bootstrapperBinding()
			d := b.DeepCopy()
			rbacdefaults.SetObjectDefaults_ClusterRoleBinding(d)
			return b, d
		}},
		{"host binding", func() (any, any) {
			b := hostClusterRoleBinding()
			d := b.DeepCopy()
			rbacdefaults.SetObjectDefaults_ClusterRoleBinding(d)
			return b, d
		}},
		{"kubelet client binding", func() (any, any) {
			b := kubeletClientBinding()
			d := b.DeepCopy()
			rbacdefaults.SetObjectDefaults_ClusterRoleBinding(d)
			return b, d
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			written, stored := c.objects()
			if !equality.Semantic.DeepEqual(written, stored) {
				t.Fatalf("the apiserver would store\n%+v\nnot\n%+v", stored, written)
			}
		})
	}
}

func TestHostRoleGrants(t *testing.T) {
	rules := hostClusterRole().Rules
	cases := []struct {
		group, resource, verb string
		want                  bool
	}{
		{"", "nodes", "update", true},
		{"", "nodes/status", "patch", true},
		{"", "pods", "delete", true},
		{"", "pods/status", "update", true},
		{"events.k8s.io", "events", "create", true},
		{"coordination.k8s.io", "leases", "delete", true},
		{"fargo.dev", "hosts", "create", true},
		{"fargo.dev", "hosts/status", "update", true},
		{"", "secrets", "watch", true},
		{"", "serviceaccounts/token", "create", true},
		{"", "nodes", "create", false},
		{"", "nodes", "delete", false},
		{"", "pods", "create", false},
		{"", "secrets", "create", false},
		{"fargo.dev", "hosts", "delete", false},
		// The log router reads a pod's profile for its logging credentials.
		{"fargo.dev", "fargateprofiles", "get", true},
		{"fargo.dev", "fargateprofiles", "update", false},
		{"certificates.k8s.io", "certificatesigningrequests", "create", true},
		{"certificates.k8s.io", "certificatesigningrequests", "watch", true},
		{"certificates.k8s.io", "certificatesigningrequests/approval", "update", false},
		{"certificates.k8s.io", "certificatesigningrequests", "delete", false},
		{"authentication.k8s.io", "tokenreviews", "create", true},
		{"authorization.k8s.io", "subjectaccessreviews", "create", true},
		{"rbac.authorization.k8s.io", "clusterroles", "get", false},
	}
	for _, c := range cases {
		t.Run(c.verb+" "+c.group+"/"+c.resource, func(t *testing.T) {
			if got := allows(rules, c.group, c.resource, c.verb); got != c.want {
				t.Fatalf("allowed = %v, want %v", got, c.want)
			}
		})
	}
}

// allows is RBAC's rule matching for rules without wildcards or names.
func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// The apiserver (user kube-apiserver-kubelet-client at kubelets) may use
// every pod-node's kubelet API, as kubeadm lets it.
func TestInstallServerObjectsBindsKubeletClient(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	if err := InstallServerObjects(ctx, cs, server, newCA(t).CertPEM()); err != nil {
		t.Fatal(err)
	}
	b, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, "fargo:kube-apiserver-kubelet-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "kube-apiserver-kubelet-client"}
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "system:kubelet-api-admin" || !slices.Equal(b.Subjects, []rbacv1.Subject{want}) {
		t.Fatalf("binding %s binds %+v to %+v, want system:kubelet-api-admin to %+v", b.Name, b.RoleRef, b.Subjects, want)
	}
}
