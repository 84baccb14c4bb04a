package scheduler

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/podnode"
)

// podChanged queues pods that may need a node; every update counts, since
// "unschedulable until updated" pods are looked at again only then.
func (s *Scheduler) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !wantsNode(pod) {
		return
	}
	s.queue.Add(podKey(pod), pod.CreationTimestamp.Time)
}

// podDeleted deletes the pod's node and its Lease, and forgets the pod.
func (s *Scheduler) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.queue.Remove(podKey(pod))
	s.marked.Delete(podKey(pod))
	s.acct.setBound(pod.UID, false)
	if rec, ok := s.acct.nodeOf(pod.UID); ok {
		s.cleanup.Add(cleanupItem{node: rec.name, pod: pod.UID})
	}
}

func (s *Scheduler) nodeChanged(obj any) {
	if node, ok := obj.(*corev1.Node); ok && podnode.Is(node) {
		s.acct.putNode(s.record(node))
	}
}

// nodeDeleted frees the node's room and IP; waiting pods may now fit.
func (s *Scheduler) nodeDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok || !podnode.Is(node) {
		return
	}
	s.acct.dropNode(node.Name, "")
	s.queue.Kick()
}

func (s *Scheduler) hostChanged(obj any) {
	h, err := hostclient.FromObject(obj)
	if err != nil {
		klog.ErrorS(err, "fargate-scheduler: ignoring host")
		return
	}
	s.acct.setHost(h)
	s.queue.Kick()
}

func (s *Scheduler) hostDeleted(obj any) {
	if h, err := hostclient.FromObject(obj); err == nil {
		s.acct.deleteHost(h.Name)
	}
}

func (s *Scheduler) leaseChanged(obj any) {
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	host, ok := strings.CutPrefix(lease.Name, v1.HostLeaseName(""))
	if !ok || lease.Spec.RenewTime == nil {
		return
	}
	if s.acct.setLease(host, lease.Spec.RenewTime.Time, s.cfg.Now(), s.cfg.HostLeaseDuration) {
		s.queue.Kick()
	}
}

func (s *Scheduler) leaseDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if lease, ok := obj.(*coordinationv1.Lease); ok {
		if host, ok := strings.CutPrefix(lease.Name, v1.HostLeaseName("")); ok {
			s.acct.deleteLease(host)
		}
	}
}

// recover is the start of Run: accounting from the node informer, orphan
// pod-nodes to the cleanup queue, every unbound pod to the queue (decide
// binds a pod that has a node already to that node).
func (s *Scheduler) recover() {
	var recs []nodeRecord
	for _, obj := range s.nodes.List() {
		node, ok := obj.(*corev1.Node)
		if !ok || !podnode.Is(node) {
			continue
		}
		rec := s.record(node)
		recs = append(recs, rec)
		if pod := s.livePod(rec.pod); pod == nil || (pod.Spec.NodeName != "" && pod.Spec.NodeName != rec.name) {
			// Its pod is gone, or was bound elsewhere before a previous
			// run could delete this node.
			s.cleanup.Add(cleanupItem{node: rec.name, pod: rec.pod.UID})
		}
	}
	s.acct.rebuild(recs)
	for _, obj := range s.pods.List() {
		s.podChanged(obj)
	}
}

// record turns a pod-node into accounting. A node whose size annotation
// does not parse counts as size zero: it cannot be made right here, and
// counting it as anything else would be a guess.
func (s *Scheduler) record(node *corev1.Node) nodeRecord {
	ref, _ := podnode.PodOf(node)
	ip, _ := podnode.IPFromName(node.Name)
	size, _ := podnode.SizeOf(node)
	rec := nodeRecord{name: node.Name, host: node.Labels[podnode.LabelHost], zone: node.Labels[corev1.LabelTopologyZone], ip: ip, size: size, pod: ref,
		tier: node.Labels[v1.LabelSandboxTier]}
	if pod := s.livePod(ref); pod != nil {
		rec.owner = ownerOf(pod)
	}
	return rec
}

// livePod returns the pod ref names from the pod informer, nil when it is
// gone or was replaced by another pod of the same name.
func (s *Scheduler) livePod(ref podnode.PodRef) *corev1.Pod {
	obj, ok, _ := s.pods.GetByKey(ref.Key())
	if !ok {
		return nil
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.UID != ref.UID {
		return nil
	}
	return pod
}

// wantsNode: pods of this scheduler, not yet bound, not finished and not
// being deleted.
func wantsNode(pod *corev1.Pod) bool {
	return pod.Spec.SchedulerName == podnode.SchedulerName && pod.Spec.NodeName == "" &&
		pod.DeletionTimestamp == nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// ownerOf is the pod's controller (ReplicaSet, Job, ...), whose pods are
// spread over zones.
func ownerOf(pod *corev1.Pod) types.UID {
	if ref := metav1.GetControllerOf(pod); ref != nil {
		return ref.UID
	}
	return ""
}
