package scheduler

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// TestBurstNeverDoubleBooks: 2 hosts with room for 8 and 4 pods of 1 vCPU;
// 15 pods at once must give exactly 12 nodes, distinct IPs, no host over.
func TestBurstNeverDoubleBooks(t *testing.T) {
	now := time.Now()
	e := newEnv(t, []*v1.Host{
		testHost("big", "a", "8", "64Gi", "10.0.0.0/24"),
		testHost("small", "b", "4", "64Gi", "10.0.1.0/24"),
	}, hostLease("big", now), hostLease("small", now))
	var names []string
	for i := range 15 {
		names = append(names, fmt.Sprintf("p%02d", i))
		e.createPod(testPod(names[i], withAnnotation("CapacityProvisioned", "1vCPU 2GB")))
	}
	testwait.Eventually(t, waitTimeout, "12 nodes", func(context.Context) error {
		if n := e.nodeCount(); n != 12 {
			return fmt.Errorf("%d nodes", n)
		}
		return nil
	})
	e.waitRetried(names)
	nodes, _ := e.cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	perHost, ips := map[string]int{}, map[string]bool{}
	for _, n := range nodes.Items {
		perHost[n.Labels[podnode.LabelHost]]++
		ip := n.Status.Addresses[0].Address
		if ips[ip] {
			t.Errorf("IP %s twice", ip)
		}
		ips[ip] = true
	}
	if len(nodes.Items) != 12 || perHost["big"] != 8 || perHost["small"] != 4 {
		t.Errorf("%d nodes, per host %v; want 12 = 8 + 4", len(nodes.Items), perHost)
	}
}

// waitRetried returns once each of pods is bound, or has been found no
// room twice more (a timed-out event each time): a retry that could wrongly
// place a pod has had its chance. Twice, since the first event may come
// from a decision made before the call.
func (e *env) waitRetried(pods []string) {
	e.t.Helper()
	const timedOut = "Warning FailedScheduling " + messageTimedOut
	seen := map[string]int{}
	for _, name := range pods {
		seen[name] = e.events.countOn(name, timedOut)
	}
	testwait.Eventually(e.t, waitTimeout, "every pod bound or retried", func(ctx context.Context) error {
		for _, name := range pods {
			pod, err := e.cs.CoreV1().Pods(testNS).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pod.Spec.NodeName == "" && e.events.countOn(name, timedOut) < seen[name]+2 {
				return fmt.Errorf("%s neither bound nor retried; events:\n%s", name, e.events)
			}
		}
		return nil
	})
}

func TestSpreadsOwnerOverZones(t *testing.T) {
	now := time.Now()
	e := newEnv(t, []*v1.Host{
		// a has far more memory: without spreading every pod would go there.
		testHost("ha", "us-east-1a", "16", "64Gi", "10.0.0.0/24"),
		testHost("hb", "us-east-1b", "16", "16Gi", "10.0.1.0/24"),
	}, hostLease("ha", now), hostLease("hb", now))
	for i := range 4 {
		e.createPod(testPod(fmt.Sprintf("r%d", i), withOwner("rs-1")))
	}
	e.createPod(testPod("loner"))
	zones := map[string]int{}
	for i := range 4 {
		zones[e.boundNode(fmt.Sprintf("r%d", i)).Labels[corev1.LabelTopologyZone]]++
	}
	if zones["us-east-1a"] != 2 || zones["us-east-1b"] != 2 {
		t.Errorf("owner's pods per zone %v, want 2 and 2", zones)
	}
	if z := e.boundNode("loner").Labels[corev1.LabelTopologyZone]; z != "us-east-1a" {
		t.Errorf("pod without owner in %s, want the host with most free memory", z)
	}
}

func TestPodDeletedRemovesNodeAndLease(t *testing.T) {
	e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now())
	e.createPod(testPod("gone"))
	node := e.boundNode("gone")
	nodeLease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: corev1.NamespaceNodeLease}}
	if _, err := e.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(context.Background(), nodeLease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.cs.CoreV1().Pods(testNS).Delete(context.Background(), "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, waitTimeout, "node and lease deleted", func(context.Context) error {
		_, errNode := e.cs.CoreV1().Nodes().Get(context.Background(), node.Name, metav1.GetOptions{})
		_, errLease := e.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), node.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(errNode) || !apierrors.IsNotFound(errLease) {
			return fmt.Errorf("node: %v, lease: %v", errNode, errLease)
		}
		return nil
	})
	// The IP is free again: the next pod gets it.
	e.createPod(testPod("next"))
	if got := e.boundNode("next").Name; got != node.Name {
		t.Errorf("next pod on %s, want the freed %s", got, node.Name)
	}
}

// TestCompletedPodKeepsNode: only deleting the pod object frees its node.
func TestCompletedPodKeepsNode(t *testing.T) {
	e := newSerialEnv(t, hostsOf("4 8Gi 10.0.0.0/24"), hostLease("h1", time.Now()))
	e.createPod(testPod("job"))
	e.createPod(testPod("other"))
	node := e.boundNode("job")
	pod, _ := e.cs.CoreV1().Pods(testNS).Get(context.Background(), "job", metav1.GetOptions{})
	pod.Status.Phase = corev1.PodSucceeded
	if _, err := e.cs.CoreV1().Pods(testNS).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The scheduler has handled the update once it has decided a later
	// pod, and deleted the node of a pod deleted after it.
	e.fence()
	e.deleteFence("other")
	if _, err := e.cs.CoreV1().Nodes().Get(context.Background(), node.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("node of a completed pod: %v", err)
	}
	if n := e.nodeCount(); n != 1 {
		t.Errorf("%d nodes, want the completed pod's only", n)
	}
}

// oldNode is a pod-node a previous scheduler made for pod on host h1.
func oldNode(pod *corev1.Pod, ip string) *corev1.Node {
	return podnode.New(podnode.Spec{IP: netip.MustParseAddr(ip), Region: testRegion, Zone: "us-east-1a", Host: "h1",
		Pod: pod, Size: sizing.Smallest()})
}

func TestRestart(t *testing.T) {
	waiting := testPod("waiting")
	elsewhere := testPod("bound-elsewhere")
	elsewhere.Spec.NodeName = "fargate-ip-10-0-0-9.us-east-1.compute.internal"
	orphanPod := testPod("deleted-meanwhile")
	replaced := testPod("replaced")
	replacedNode := oldNode(replaced, "10.0.0.4")
	replaced.UID = "uid-new" // same name, new pod: the old node is an orphan
	objs := []runtime.Object{
		waiting, replaced, elsewhere,
		oldNode(waiting, "10.0.0.2"),
		oldNode(elsewhere, "10.0.0.9"),
		oldNode(elsewhere, "10.0.0.8"), // made by a run that died before its bind failed
		oldNode(orphanPod, "10.0.0.3"),
		replacedNode,
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "fargate-ip-10-0-0-3.us-east-1.compute.internal", Namespace: corev1.NamespaceNodeLease}},
	}
	e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now(), objs...)

	if got := e.boundNode("waiting").Name; got != "fargate-ip-10-0-0-2.us-east-1.compute.internal" {
		t.Errorf("unbound pod with a node bound to %s, want its existing node", got)
	}
	got := e.boundNode("replaced").Name
	if got == replacedNode.Name {
		t.Errorf("new pod bound to the node of the pod it replaced")
	}
	testwait.Eventually(t, waitTimeout, "orphans deleted", func(context.Context) error {
		orphans := map[string]types.UID{
			"fargate-ip-10-0-0-3.us-east-1.compute.internal": orphanPod.UID,
			replacedNode.Name: types.UID(replacedNode.Annotations[podnode.AnnotationPodUID]),
			"fargate-ip-10-0-0-8.us-east-1.compute.internal": elsewhere.UID,
		}
		for name, uid := range orphans {
			// A freed IP may already serve another pod: only the orphan's
			// node must be gone.
			n, err := e.cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
			if err == nil && n.Annotations[podnode.AnnotationPodUID] == string(uid) {
				return fmt.Errorf("orphan node %s of pod %s still there", name, uid)
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		_, err := e.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), "fargate-ip-10-0-0-3.us-east-1.compute.internal", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("orphan's lease: %v", err)
		}
		return nil
	})
	if n := e.nodeCount(); n != 3 {
		t.Errorf("%d nodes, want 3 (one per pod)", n)
	}
}

// TestIPTakenTriesNext: a node the informer does not show holds .2.
func TestIPTakenTriesNext(t *testing.T) {
	stranger := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fargate-ip-10-0-0-2.us-east-1.compute.internal"}}
	e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now())
	e.cs.PrependReactor("create", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*corev1.Node).Name == stranger.Name {
			return true, nil, apierrors.NewAlreadyExists(corev1.Resource("nodes"), stranger.Name)
		}
		return false, nil, nil
	})
	e.createPod(testPod("p"))
	if got, want := e.boundNode("p").Name, "fargate-ip-10-0-0-3.us-east-1.compute.internal"; got != want {
		t.Errorf("node %s, want %s", got, want)
	}
}

func TestAPIErrorsRetried(t *testing.T) {
	tests := []struct{ verb, resource string }{
		{"create", "nodes"},
		{"create", "pods"}, // the binding
	}
	for _, tt := range tests {
		t.Run(tt.verb+" "+tt.resource, func(t *testing.T) {
			e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now())
			failures := 2
			e.cs.PrependReactor(tt.verb, tt.resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
				if tt.resource == "pods" && a.GetSubresource() != "binding" {
					return false, nil, nil
				}
				if failures > 0 {
					failures--
					return true, nil, apierrors.NewInternalError(fmt.Errorf("etcd hiccup"))
				}
				return false, nil, nil
			})
			e.createPod(testPod("p"))
			e.boundNode("p")
			if n := e.nodeCount(); n != 1 {
				t.Errorf("%d nodes after retries, want 1", n)
			}
		})
	}
}

// TestBindFailureDeletesNode: the pod was bound by someone else, or
// deleted, while we made its node; our node must go.
func TestBindFailureDeletesNode(t *testing.T) {
	tests := []struct {
		name      string
		breakBind func(e *env, pod *corev1.Pod) error
	}{
		{"bound elsewhere", func(e *env, pod *corev1.Pod) error {
			pod.Spec.NodeName = "other"
			_ = e.cs.Tracker().Update(podsGVR, pod, pod.Namespace)
			return apierrors.NewConflict(corev1.Resource("pods/binding"), pod.Name, fmt.Errorf("already assigned"))
		}},
		{"deleted", func(e *env, pod *corev1.Pod) error {
			_ = e.cs.Tracker().Delete(podsGVR, pod.Namespace, pod.Name)
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now())
			e.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "binding" {
					return false, nil, nil
				}
				b := a.(k8stesting.CreateAction).GetObject().(*corev1.Binding)
				obj, err := e.cs.Tracker().Get(podsGVR, b.Namespace, b.Name)
				if err != nil {
					return true, nil, err
				}
				return true, nil, tt.breakBind(e, obj.(*corev1.Pod).DeepCopy())
			})
			e.createPod(testPod("p"))
			testwait.Eventually(t, waitTimeout, "node created", func(context.Context) error {
				for _, a := range e.cs.Actions() {
					if a.GetVerb() == "create" && a.GetResource().Resource == "nodes" {
						return nil
					}
				}
				return fmt.Errorf("no node created")
			})
			testwait.Eventually(t, waitTimeout, "node deleted", func(context.Context) error {
				if n := e.nodeCount(); n != 0 {
					return fmt.Errorf("%d nodes", n)
				}
				return nil
			})
		})
	}
}

// TestPodTombstoneCleansUp: a delete seen only as a tombstone still frees
// the node.
func TestPodTombstoneCleansUp(t *testing.T) {
	s := New(Config{})
	pod := testPod("p")
	s.acct.putNode(nodeRecord{name: "n", host: "h", pod: podnode.PodRef{Namespace: testNS, Name: "p", UID: pod.UID}})
	got := make(chan cleanupItem, 1)
	s.cleanup = reconcile.New("test", func(_ context.Context, item cleanupItem) (time.Duration, error) {
		got <- item
		return 0, nil
	})
	s.podDeleted(cache.DeletedFinalStateUnknown{Key: "default/p", Obj: pod})
	if s.cleanup.Len() != 1 {
		t.Fatalf("cleanup queue has %d items, want 1", s.cleanup.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.cleanup.Run(ctx, 1)
	select {
	case item := <-got:
		if item != (cleanupItem{node: "n", pod: pod.UID}) {
			t.Errorf("cleanup %+v", item)
		}
	case <-time.After(waitTimeout):
		t.Fatal("nothing cleaned up")
	}
}

// TestBurstThroughput: 500 pods created at once are all bound, each with
// one node, against the fake apiserver. Its rate is logged only: the
// bench package measures throughput against the real apiserver.
func TestBurstThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 500 pods")
	}
	const pods = 500
	objs := []runtime.Object{hostLease("h1", time.Now())}
	for i := range pods {
		objs = append(objs, testPod(fmt.Sprintf("b%03d", i)))
	}
	// The pods exist before Run: the fake apiserver takes longer to create
	// 500 pods than the scheduler to place them, and it is the scheduler
	// that is timed here.
	start := time.Now()
	e := newEnv(t, []*v1.Host{testHost("h1", "a", "200", "400Gi", "10.0.0.0/16")}, objs...)
	before := len(e.cs.Actions())
	testwait.Eventually(t, waitTimeout, "all bound", func(context.Context) error {
		list, err := e.cs.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		bound := 0
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				bound++
			}
		}
		if bound != pods {
			return fmt.Errorf("%d of %d bound", bound, pods)
		}
		return nil
	})
	t.Logf("%.0f pods/s", pods/time.Since(start).Seconds())
	for _, a := range e.cs.Actions()[before:] {
		if a.GetVerb() == "list" && a.GetResource().Resource != "pods" { // the test lists pods
			t.Fatalf("scheduler listed %s", a.GetResource().Resource)
		}
	}
	if n := e.nodeCount(); n != pods {
		t.Errorf("%d nodes for %d pods", n, pods)
	}
}
