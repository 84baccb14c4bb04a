package hostregistration

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
)

// statusReportInterval is how old a Ready node's last status may grow
// before the agent posts it again even though nothing changed: kubelet's
// nodeStatusReportFrequency. In between, the node Lease is the heartbeat.
const statusReportInterval = 5 * time.Minute

// watchNodes sets up the informer on this host's pod-nodes. A node is
// synced (status, Lease) when it appears, when something else changed its
// conditions, and when it is deleted, so that its Lease is let go.
func (a *agent) watchNodes() {
	selector := labels.Set{podnode.LabelHost: a.cfg.Name}.String()
	f := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	a.nodes = f.Core().V1().Nodes().Informer()
	_, _ = a.nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n := a.own(obj); n != nil {
				a.nodeLoop.Add(n.Name)
				// The pod may have been seen before its node.
				if ref, ok := podnode.PodOf(n); ok {
					a.podLoop.Add(ref.Key())
				}
			}
		},
		UpdateFunc: func(_, obj any) {
			if n := a.own(obj); n != nil && a.needsStatus(n) {
				a.nodeLoop.Add(n.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				a.nodeLoop.Add(key)
			}
		},
	})
	a.factories = append(a.factories, f)
}

// own returns obj if it is a node of this host. The informer's label
// selector should let no other node in; this check keeps that a promise.
func (a *agent) own(obj any) *corev1.Node {
	n, ok := obj.(*corev1.Node)
	if !ok || n.Labels[podnode.LabelHost] != a.cfg.Name {
		return nil
	}
	return n
}

// ownNode returns this host's node called name, or nil.
func (a *agent) ownNode(name string) *corev1.Node {
	obj, exists, err := a.nodes.GetIndexer().GetByKey(name)
	if err != nil || !exists {
		return nil
	}
	return a.own(obj)
}

// renewNodesEvery queues every node of the host each RenewInterval; the
// node workers renew their Leases, so that one ticker and a fixed number of
// workers serve any number of nodes.
func (a *agent) renewNodesEvery(ctx context.Context) {
	every(ctx, a.cfg.RenewInterval, func() {
		for _, key := range a.nodes.GetIndexer().ListKeys() {
			a.nodeLoop.Add(key)
		}
	})
}

// syncNode keeps node name Ready and its Lease fresh, or lets the Lease go
// once the node is gone: the garbage collector deletes it with the node.
func (a *agent) syncNode(ctx context.Context, name string) error {
	node := a.ownNode(name)
	if node == nil {
		a.leases.forget(corev1.NamespaceNodeLease + "/" + name)
		return nil
	}
	var errs []error
	if a.needsStatus(node) {
		errs = append(errs, a.postReady(ctx, node))
	}
	errs = append(errs, a.leases.renew(ctx, nodeLease(node)))
	return errors.Join(errs...)
}

// needsStatus reports whether node's status is not what this agent last
// posted, or was posted too long ago.
func (a *agent) needsStatus(node *corev1.Node) bool {
	if !equality.Semantic.DeepEqual(node.Status.NodeInfo, a.nodeInfo(node)) {
		return true
	}
	for _, want := range podnode.ReadyConditions(metav1.Time{}) {
		c := findCondition(node.Status.Conditions, want.Type)
		if c == nil || c.Status != want.Status || c.Reason != want.Reason {
			return true
		}
	}
	ready := findCondition(node.Status.Conditions, corev1.NodeReady)
	return a.cfg.Now().Sub(ready.LastHeartbeatTime.Time) >= statusReportInterval
}

// postReady patches node's status to Ready, with the host's NodeInfo. It
// patches rather than updates so that it never undoes what others wrote
// (addresses, capacity, taints) and cannot conflict with them.
func (a *agent) postReady(ctx context.Context, node *corev1.Node) error {
	status := map[string]any{"conditions": a.conditionsFor(node), "nodeInfo": a.nodeInfo(node)}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = a.cfg.Client.CoreV1().Nodes().PatchStatus(ctx, node.Name, patch)
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile; the delete event lets its Lease go
	}
	if err == nil {
		a.log.V(2).Info("Posted node status", "node", node.Name)
	}
	return err
}

// conditionsFor returns podnode.ReadyConditions as of now, keeping the transition
// time of a condition whose status does not change.
func (a *agent) conditionsFor(node *corev1.Node) []corev1.NodeCondition {
	conds := podnode.ReadyConditions(metav1.NewTime(a.cfg.Now()))
	for i, c := range conds {
		if old := findCondition(node.Status.Conditions, c.Type); old != nil && old.Status == c.Status {
			conds[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return conds
}

func findCondition(conds []corev1.NodeCondition, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// nodeInfo is what node reports: its tier's, or the host's.
func (a *agent) nodeInfo(node *corev1.Node) corev1.NodeSystemInfo {
	if info, ok := a.cfg.TierInfo[node.Labels[v1.LabelSandboxTier]]; ok {
		return info
	}
	return a.cfg.NodeInfo
}
