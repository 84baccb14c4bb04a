package scheduler

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
)

// launch creates the reserved node and binds pod to it, on a worker.
func (s *Scheduler) launch(ctx context.Context, key string, pod *corev1.Pod, rec nodeRecord, host *v1.Host) {
	node := podnode.New(podnode.Spec{
		IP: rec.ip, Region: s.cfg.Region, Zone: host.Spec.Zone, Host: host.Name,
		Pod: pod, Size: rec.size, NodeInfo: host.Status.NodeInfo, Tier: rec.tier, VMAccel: host.VMAccelOf(rec.tier),
		Now: s.cfg.Now(),
	})
	_, err := s.cfg.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		if s.nodeIsFor(ctx, rec.name, pod.UID) {
			break // our own create, answered late: carry on
		}
		// The IP is taken by a node the informer has not shown yet: keep
		// it out of use and try the next one at once.
		s.acct.dropNode(rec.name, pod.UID)
		s.acct.markTaken(rec.ip, rec.name)
		s.queue.RetryNow(key)
		return
	case err != nil:
		klog.ErrorS(err, "fargate-scheduler: creating pod-node", "pod", key, "node", rec.name)
		s.acct.dropNode(rec.name, pod.UID)
		s.queue.Retry(key, false)
		return
	}
	s.bind(ctx, key, pod, rec, false)
}

// nodeIsFor reports whether node name exists and was made for pod uid.
func (s *Scheduler) nodeIsFor(ctx context.Context, name string, uid types.UID) bool {
	node, err := s.cfg.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	ref, ok := podnode.PodOf(node)
	return ok && ref.UID == uid
}

// bind binds pod to node and records the events of a placed pod. A pod
// that is gone or bound elsewhere gets its node deleted; other errors are
// retried with backoff, keeping the node for the next attempt.
func (s *Scheduler) bind(ctx context.Context, key string, pod *corev1.Pod, rec nodeRecord, kicked bool) {
	node := rec.name
	// The apiserver copies a Binding's annotations onto the pod: the host
	// reads the tier there.
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			Annotations: map[string]string{v1.AnnotationSandboxTier: rec.tier}},
		Target: corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		err = s.boundTo(ctx, pod, node, err)
	}
	switch {
	case err == nil:
		s.acct.setBound(pod.UID, true)
		s.queue.Forget(key)
		s.recordPlaced(pod, node)
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		s.queue.Forget(key)
		s.cleanup.Add(cleanupItem{node: node, pod: pod.UID})
	default:
		klog.ErrorS(err, "fargate-scheduler: binding pod", "pod", key, "node", node)
		s.queue.Retry(key, kicked)
	}
}

// boundTo sorts out a failed bind by reading the pod: nil when it is bound
// to node after all (a retried bind that had worked), NotFound when it is
// gone or replaced, Conflict when it is bound elsewhere, else bindErr.
func (s *Scheduler) boundTo(ctx context.Context, pod *corev1.Pod, node string, bindErr error) error {
	cur, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || (err == nil && cur.UID != pod.UID):
		return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
	case err != nil:
		return bindErr
	case cur.Spec.NodeName == node:
		return nil
	case cur.Spec.NodeName != "":
		return apierrors.NewConflict(corev1.Resource("pods"), pod.Name, bindErr)
	}
	return bindErr
}

// markUnschedulable writes the PodScheduled=False condition, as
// kube-scheduler does, and the FailedScheduling event.
func (s *Scheduler) markUnschedulable(ctx context.Context, key string, pod *corev1.Pod, msg string) {
	updated := pod.DeepCopy()
	setUnschedulable(updated, msg, metav1.NewTime(s.cfg.Now()))
	_, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s.queue.Forget(key)
	case err != nil:
		klog.ErrorS(err, "fargate-scheduler: writing PodScheduled condition", "pod", key)
		s.queue.Retry(key, false)
	default:
		s.marked.Store(key, markedRecord{uid: pod.UID, msg: msg})
		s.recorder.Event(pod, corev1.EventTypeWarning, reasonFailedScheduling, msg)
		s.queue.Forget(key)
	}
}

// setUnschedulable sets pod's PodScheduled condition to False/Unschedulable.
func setUnschedulable(pod *corev1.Pod, msg string, now metav1.Time) {
	cond := corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: msg,
		LastProbeTime: now, LastTransitionTime: now,
	}
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			pod.Status.Conditions[i] = cond
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, cond)
}

// cleanupItem asks for a pod-node and its Lease to go. It names the pod
// the node was made for, so that a late retry cannot delete a node that a
// newer pod got under the same name (IP).
type cleanupItem struct {
	node string
	pod  types.UID
}

// cleanNode deletes a pod-node of a deleted pod; a failure is retried
// with back-off.
func (s *Scheduler) cleanNode(ctx context.Context, item cleanupItem) (time.Duration, error) {
	return 0, s.deleteNode(ctx, item)
}

// deleteNode deletes the node and its Lease in kube-node-lease; NotFound is
// success. The record goes at once (the informer confirms later), so the
// IP and room are free for waiting pods.
func (s *Scheduler) deleteNode(ctx context.Context, item cleanupItem) error {
	if rec, ok := s.acct.nodeNamed(item.node); ok && rec.pod.UID != item.pod {
		return nil // the name (IP) belongs to another pod by now
	}
	err := s.cfg.Client.CoreV1().Nodes().Delete(ctx, item.node, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err = s.cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, item.node, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	s.acct.dropNode(item.node, item.pod)
	s.queue.Kick()
	return nil
}
