package hostregistration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// readyNode is node as this agent leaves it, last posted at posted and
// Ready since since.
func readyNode(node *corev1.Node, posted, since time.Time) *corev1.Node {
	n := node.DeepCopy()
	n.Status.NodeInfo = testNodeInfo
	n.Status.Conditions = podnode.ReadyConditions(metav1.NewTime(posted))
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].LastTransitionTime = metav1.NewTime(since)
	}
	return n
}

// withoutConditions is node as a scheduler that did not post Ready made it.
func withoutConditions(node *corev1.Node) *corev1.Node {
	n := node.DeepCopy()
	n.Status.Conditions = nil
	return n
}

func TestSyncNodePostsReady(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	fresh := withoutConditions(testNode(pod, "10.42.1.5", testHost))
	earlier := t0.Add(-time.Hour)
	unknown := readyNode(fresh, earlier, earlier)
	unknown.Status.Conditions[3].Status, unknown.Status.Conditions[3].Reason = corev1.ConditionUnknown, "NodeStatusUnknown"
	tests := []struct {
		name           string
		node           *corev1.Node
		wantTransition time.Time // of the Ready condition
	}{
		{"node without conditions", fresh, t0},
		{"node the lifecycle controller marked Unknown", unknown, t0},
		{"ready node whose status is old keeps its transition time", readyNode(fresh, earlier, earlier), earlier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, cs := newTestAgent(t, newClock(), nil, tt.node)
			if err := a.syncNode(context.Background(), tt.node.Name); err != nil {
				t.Fatal(err)
			}
			patch := statusPatch(t, cs.Actions())
			if patch == nil {
				t.Fatalf("no strategic merge patch of node status among %v", cs.Actions())
			}
			got, err := cs.CoreV1().Nodes().Get(context.Background(), tt.node.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertReady(t, got, tt.wantTransition)
			if !equality.Semantic.DeepEqual(got.Status.Capacity, tt.node.Status.Capacity) || len(got.Status.Addresses) != 3 {
				t.Errorf("the patch lost capacity or addresses: %+v", got.Status)
			}
			getLease(t, cs, corev1.NamespaceNodeLease, tt.node.Name)
		})
	}
}

// statusPatch returns the strategic merge patch of a node's status, if any.
func statusPatch(t *testing.T, actions []clienttesting.Action) []byte {
	t.Helper()
	for _, a := range actions {
		if p, ok := a.(clienttesting.PatchAction); ok && a.GetResource().Resource == "nodes" {
			if a.GetSubresource() != "status" || p.GetPatchType() != types.StrategicMergePatchType {
				t.Errorf("node patched on %q with %s, want status with a strategic merge patch", a.GetSubresource(), p.GetPatchType())
			}
			return p.GetPatch()
		}
	}
	return nil
}

func assertReady(t *testing.T, n *corev1.Node, since time.Time) {
	t.Helper()
	want := map[corev1.NodeConditionType][2]string{
		corev1.NodeReady:          {"True", "KubeletReady"},
		corev1.NodeMemoryPressure: {"False", "KubeletHasSufficientMemory"},
		corev1.NodeDiskPressure:   {"False", "KubeletHasNoDiskPressure"},
		corev1.NodePIDPressure:    {"False", "KubeletHasSufficientPID"},
	}
	if len(n.Status.Conditions) != len(want) {
		t.Errorf("conditions %+v, want %d", n.Status.Conditions, len(want))
	}
	for _, c := range n.Status.Conditions {
		if w := want[c.Type]; string(c.Status) != w[0] || c.Reason != w[1] || !c.LastHeartbeatTime.Time.Equal(t0) {
			t.Errorf("condition %s = %s (%s) at %v, want %s (%s) at %v", c.Type, c.Status, c.Reason, c.LastHeartbeatTime, w[0], w[1], t0)
		}
		if c.Type == corev1.NodeReady && (c.Message != "fargo host agent is posting ready status" || !c.LastTransitionTime.Time.Equal(since)) {
			t.Errorf("Ready message %q since %v, want since %v", c.Message, c.LastTransitionTime, since)
		}
	}
	if n.Status.NodeInfo != testNodeInfo {
		t.Errorf("nodeInfo %+v, want %+v", n.Status.NodeInfo, testNodeInfo)
	}
}

func TestNeedsStatus(t *testing.T) {
	node := testNode(testPod("web", "uid-web", "10.42.1.5"), "10.42.1.5", testHost)
	otherInfo := readyNode(node, t0, t0)
	otherInfo.Status.NodeInfo.ContainerRuntimeVersion = "crun://1.8.1"
	noPID := readyNode(node, t0, t0)
	noPID.Status.Conditions = noPID.Status.Conditions[:2]
	noPID.Status.Conditions = append(noPID.Status.Conditions, readyNode(node, t0, t0).Status.Conditions[3])
	tests := []struct {
		name string
		node *corev1.Node
		want bool
	}{
		{"just posted", readyNode(node, t0, t0), false},
		{"posted 4 minutes ago", readyNode(node, t0.Add(-4*time.Minute), t0), false},
		{"posted 5 minutes ago", readyNode(node, t0.Add(-5*time.Minute), t0), true},
		{"no conditions", withoutConditions(node), true},
		{"other nodeInfo", otherInfo, true},
		{"a condition missing", noPID, true},
	}
	a, _ := newTestAgent(t, newClock(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.needsStatus(tt.node); got != tt.want {
				t.Errorf("needsStatus = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSyncNodeWrites(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	mine := testNode(pod, "10.42.1.5", testHost)
	tests := []struct {
		name      string
		node      *corev1.Node
		wantVerbs []string
	}{
		{"new node from the scheduler only gets its lease", mine, []string{"create"}},
		{"up-to-date node only renews its lease", readyNode(mine, t0, t0), []string{"create"}},
		{"node of another host is left alone", testNode(pod, "10.42.1.5", "h2"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, cs := newTestAgent(t, newClock(), nil, tt.node)
			if err := a.syncNode(context.Background(), tt.node.Name); err != nil {
				t.Fatal(err)
			}
			if got := verbs(writes(cs.Actions())); !equality.Semantic.DeepEqual(got, tt.wantVerbs) {
				t.Errorf("writes %v, want %v", got, tt.wantVerbs)
			}
		})
	}
}

// TestSyncNodeDeleted: once the node is gone its Lease is no longer renewed.
func TestSyncNodeDeleted(t *testing.T) {
	node := readyNode(testNode(testPod("web", "uid-web", "10.42.1.5"), "10.42.1.5", testHost), t0, t0)
	a, cs := newTestAgent(t, newClock(), nil, node)
	ctx := context.Background()
	if err := a.syncNode(ctx, node.Name); err != nil {
		t.Fatal(err)
	}
	key := nodeLease(node).key()
	if a.leases.cached(key) == nil {
		t.Fatal("lease not kept after renewal")
	}
	if err := a.nodes.GetIndexer().Delete(node); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	if err := a.syncNode(ctx, node.Name); err != nil {
		t.Fatal(err)
	}
	if w := writes(cs.Actions()); len(w) != 0 || a.leases.cached(key) != nil {
		t.Errorf("after the node's deletion: writes %v, cached lease %v; want none", w, a.leases.cached(key))
	}
}
