package hostregistration

import (
	"context"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// NodeLeaseDurationSeconds is the duration of pod-node Leases, kubelet's.
const NodeLeaseDurationSeconds = 40

// leaseSpec is what a heartbeat Lease says.
type leaseSpec struct {
	namespace, name, holder string
	durationSeconds         int32
	// owner, when set, is the only owner of the Lease, so that the garbage
	// collector deletes the Lease with it.
	owner *metav1.OwnerReference
}

func (s leaseSpec) key() string { return s.namespace + "/" + s.name }

// hostLease is the host's heartbeat, read by the server to tell whether the
// host takes pods.
func hostLease(host string) leaseSpec {
	return leaseSpec{namespace: v1.SystemNamespace, name: v1.HostLeaseName(host), holder: host,
		durationSeconds: v1.HostLeaseDurationSeconds}
}

// nodeLease is a pod-node's Lease in kube-node-lease, as a kubelet keeps
// it: named and held by the node, and owned by it.
func nodeLease(node *corev1.Node) leaseSpec {
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	return leaseSpec{namespace: corev1.NamespaceNodeLease, name: node.Name, holder: node.Name,
		durationSeconds: NodeLeaseDurationSeconds, owner: &owner}
}

// apply makes l say s, renewed at now.
func (s leaseSpec) apply(l *coordinationv1.Lease, now time.Time) {
	l.Namespace, l.Name = s.namespace, s.name
	l.Spec.HolderIdentity = &s.holder
	l.Spec.LeaseDurationSeconds = &s.durationSeconds
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	// A node name comes back with its IP; a Lease left owned by the
	// deleted node of that name would be collected under the new one.
	if s.owner != nil && (len(l.OwnerReferences) != 1 || l.OwnerReferences[0] != *s.owner) {
		l.OwnerReferences = []metav1.OwnerReference{*s.owner}
	}
}

// leaseKeeper renews Leases. It keeps the last Lease it wrote so that a
// renewal is one Update, as kubelet's lease controller does; it reads the
// Lease again only when that Update fails. A Lease it wrote less than fresh
// ago is not written again: a node made in a burst is synced when it
// appears and again at the next renewal tick, often a second later.
type leaseKeeper struct {
	client kubernetes.Interface
	now    func() time.Time
	fresh  time.Duration

	mu     sync.Mutex
	latest map[string]*coordinationv1.Lease
}

func newLeaseKeeper(client kubernetes.Interface, now func() time.Time, fresh time.Duration) *leaseKeeper {
	return &leaseKeeper{client: client, now: now, fresh: fresh, latest: map[string]*coordinationv1.Lease{}}
}

// renew creates the Lease s or renews it, unless this keeper wrote it less
// than fresh ago.
func (k *leaseKeeper) renew(ctx context.Context, s leaseSpec) error {
	if cached := k.cached(s.key()); cached != nil {
		if r := cached.Spec.RenewTime; r != nil && k.now().Sub(r.Time) < k.fresh {
			return nil
		}
		if err := k.update(ctx, s, cached); err == nil {
			return nil
		}
		// Someone else wrote the Lease, or deleted it: read it again.
	}
	l, err := k.client.CoordinationV1().Leases(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return k.create(ctx, s)
	}
	if err != nil {
		return err
	}
	return k.update(ctx, s, l)
}

func (k *leaseKeeper) update(ctx context.Context, s leaseSpec, l *coordinationv1.Lease) error {
	l = l.DeepCopy()
	s.apply(l, k.now())
	out, err := k.client.CoordinationV1().Leases(s.namespace).Update(ctx, l, metav1.UpdateOptions{})
	if err != nil {
		k.forget(s.key())
		return err
	}
	k.store(s.key(), out)
	return nil
}

func (k *leaseKeeper) create(ctx context.Context, s leaseSpec) error {
	l := &coordinationv1.Lease{}
	s.apply(l, k.now())
	out, err := k.client.CoordinationV1().Leases(s.namespace).Create(ctx, l, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	k.store(s.key(), out)
	return nil
}

func (k *leaseKeeper) cached(key string) *coordinationv1.Lease {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.latest[key]
}

func (k *leaseKeeper) store(key string, l *coordinationv1.Lease) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.latest[key] = l
}

// forget drops what the keeper knows of a Lease it no longer renews.
func (k *leaseKeeper) forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.latest, key)
}
