package hostregistration

import (
	"context"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

func getLease(t *testing.T, cs *fake.Clientset, ns, name string) *coordinationv1.Lease {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func verbs(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.GetVerb())
	}
	return out
}

// TestLeaseRenewal renews the host Lease twice: created first, then one
// Update from the cached copy, each time with the clock's renewTime.
func TestLeaseRenewal(t *testing.T) {
	clk := newClock()
	cs := fake.NewClientset()
	k := newLeaseKeeper(cs, clk.Now, 5*time.Second)
	s := hostLease(testHost)
	steps := []struct {
		name      string
		after     time.Duration
		wantVerbs []string
	}{
		{"first renewal creates", 10 * time.Second, []string{"get", "create"}},
		{"later renewal is one update", 10 * time.Second, []string{"update"}},
		{"and the next one too", 10 * time.Second, []string{"update"}},
		{"one within 5 s of the last writes nothing", time.Second, nil},
	}
	var renewed time.Time
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			clk.Add(step.after)
			if step.wantVerbs != nil {
				renewed = clk.Now()
			}
			cs.ClearActions()
			if err := k.renew(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if got := verbs(cs.Actions()); !reflect.DeepEqual(got, step.wantVerbs) {
				t.Errorf("calls %v, want %v", got, step.wantVerbs)
			}
			l := getLease(t, cs, v1.SystemNamespace, v1.HostLeaseName(testHost))
			if ptr.Deref(l.Spec.HolderIdentity, "") != testHost || ptr.Deref(l.Spec.LeaseDurationSeconds, 0) != v1.HostLeaseDurationSeconds {
				t.Errorf("holder %v duration %v, want %s and %d", l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, testHost, v1.HostLeaseDurationSeconds)
			}
			if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(renewed) {
				t.Errorf("renewTime %v, want %v", l.Spec.RenewTime, renewed)
			}
		})
	}
}

// TestLeaseRenewRecovers: a cached Lease that went stale is read again.
func TestLeaseRenewRecovers(t *testing.T) {
	tests := []struct {
		name   string
		meddle func(t *testing.T, cs *fake.Clientset)
	}{
		{"lease deleted behind the keeper's back", func(t *testing.T, cs *fake.Clientset) {
			if err := cs.CoordinationV1().Leases(v1.SystemNamespace).Delete(context.Background(), v1.HostLeaseName(testHost), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"lease written by someone else", func(t *testing.T, cs *fake.Clientset) {
			failed := false
			cs.PrependReactor("update", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
				if failed {
					return false, nil, nil
				}
				failed = true
				return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), v1.HostLeaseName(testHost), nil)
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			cs := fake.NewClientset()
			k := newLeaseKeeper(cs, clk.Now, 5*time.Second)
			s := hostLease(testHost)
			if err := k.renew(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			tt.meddle(t, cs)
			clk.Add(10 * time.Second)
			if err := k.renew(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if l := getLease(t, cs, v1.SystemNamespace, v1.HostLeaseName(testHost)); !l.Spec.RenewTime.Time.Equal(clk.Now()) {
				t.Errorf("renewTime %v, want %v", l.Spec.RenewTime, clk.Now())
			}
		})
	}
}

// TestNodeLeaseOwner: a node Lease is kubelet's, owned by its node, even
// when an old Lease of the same name was owned by an earlier node.
func TestNodeLeaseOwner(t *testing.T) {
	node := testNode(testPod("web", "uid-web", "10.42.1.5"), "10.42.1.5", testHost)
	want := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
	stale := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: corev1.NamespaceNodeLease, Name: node.Name,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: "earlier-node"}}}}
	tests := []struct {
		name     string
		existing []runtime.Object
	}{
		{"new lease", nil},
		{"lease of an earlier node of the same name", []runtime.Object{stale}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			cs := fake.NewClientset(tt.existing...)
			if err := newLeaseKeeper(cs, clk.Now, 5*time.Second).renew(context.Background(), nodeLease(node)); err != nil {
				t.Fatal(err)
			}
			l := getLease(t, cs, corev1.NamespaceNodeLease, node.Name)
			if !reflect.DeepEqual(l.OwnerReferences, want) {
				t.Errorf("ownerReferences %+v, want %+v", l.OwnerReferences, want)
			}
			if ptr.Deref(l.Spec.HolderIdentity, "") != node.Name || ptr.Deref(l.Spec.LeaseDurationSeconds, 0) != 40 {
				t.Errorf("holder %v duration %v, want %s and 40", l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, node.Name)
			}
		})
	}
}
