package scheduler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/sizing"
	"github.com/fargo-dev/fargo/internal/support"
)

// decide looks at one popped pod, on the decision goroutine. It does no API
// call itself: what needs one is handed to a worker as a job, and the
// pod's queue entry stays busy until that job ends it.
func (s *Scheduler) decide(ctx context.Context, key string, kicked bool) {
	pod := s.currentPod(key)
	if pod == nil || !wantsNode(pod) || s.acct.isBound(pod.UID) {
		s.queue.Forget(key) // gone, bound (maybe ahead of the informer), or done
		return
	}
	if msg := unschedulableMessage(pod); msg != "" {
		if hasUnschedulable(pod, msg) || s.wasMarked(key, pod, msg) {
			s.queue.Forget(key) // said already; look again when the pod changes
			return
		}
		s.submit(func(ctx context.Context) { s.markUnschedulable(ctx, key, pod, msg) })
		return
	}
	if rec, ok := s.acct.nodeOf(pod.UID); ok {
		// A node made for this pod earlier (a previous run, or a bind that
		// failed): bind to it rather than take a second IP.
		s.submit(func(ctx context.Context) { s.bind(ctx, key, pod, rec, kicked) })
		return
	}
	s.place(ctx, key, pod, kicked)
}

// place reserves a host and IP for pod and hands the launch to a worker.
func (s *Scheduler) place(ctx context.Context, key string, pod *corev1.Pod, kicked bool) {
	size, _ := sizing.Parse(pod.Annotations[profile.AnnotationCapacityProvisioned])
	if err := s.limiter.Wait(ctx); err != nil {
		s.queue.Retry(key, true)
		return
	}
	profileName := pod.Labels[profile.LabelFargateProfile]
	p := placement{
		pod: pod, owner: ownerOf(pod), size: size, tier: podTier(pod, s.cfg.ProfileTier(profileName)),
		subnets: s.cfg.ProfileSubnets(profileName),
		now:     s.cfg.Now(), ttl: s.cfg.HostLeaseDuration, region: s.cfg.Region,
	}
	rec, host, ok := s.acct.reserve(p)
	if !ok {
		if !kicked {
			s.recorder.Event(pod, corev1.EventTypeWarning, reasonFailedScheduling, s.acct.whyNot(p))
		}
		s.queue.Retry(key, kicked)
		return
	}
	s.submit(func(ctx context.Context) { s.launch(ctx, key, pod, rec, host) })
}

// submit hands job to the workers; it blocks when they are all behind,
// which slows decisions down to what the apiserver takes.
func (s *Scheduler) submit(job func(context.Context)) { s.jobs <- job }

// currentPod is the informer's copy of the pod at key.
func (s *Scheduler) currentPod(key string) *corev1.Pod {
	obj, ok, _ := s.pods.GetByKey(key)
	if !ok {
		return nil
	}
	pod, _ := obj.(*corev1.Pod)
	return pod
}

// unschedulableMessage says why pod can never be placed as it is: it uses
// what a sandbox cannot give, or it has no valid provisioned size. PVCs
// count as bound: a pod is not re-checked when its claim binds, so waiting
// for that here could strand it; the sandbox waits for the volume instead.
func unschedulableMessage(pod *corev1.Pod) string {
	if msg := support.Message(support.Reasons(pod, nil)); msg != "" {
		return msg
	}
	text, ok := pod.Annotations[profile.AnnotationCapacityProvisioned]
	if !ok {
		return fmt.Sprintf("Pod has no %s annotation: it was not admitted by a Fargate profile", profile.AnnotationCapacityProvisioned)
	}
	if _, err := sizing.Parse(text); err != nil {
		return fmt.Sprintf("Pod has an invalid %s annotation: %v", profile.AnnotationCapacityProvisioned, err)
	}
	return runtimeClassMessage(pod)
}

// hasUnschedulable reports whether pod already says msg in its PodScheduled
// condition, so that it is not said again.
func hasUnschedulable(pod *corev1.Pod, msg string) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && c.Message == msg
		}
	}
	return false
}

// Event reasons and messages of the fargate-scheduler, as EKS writes them.
const (
	reasonFailedScheduling = "FailedScheduling"
	reasonScheduled        = "Scheduled"
	messageTimedOut        = "Pod provisioning timed out (will retry)"
)

// event is one event to record on a pod.
type event struct {
	eventType, reason, message string
}

// placedEvents are the events of a pod bound to node: Scheduled, then the
// logging event its Logging annotation calls for (none without one).
func placedEvents(pod *corev1.Pod, node string, current awslogging.Decision) []event {
	events := []event{{corev1.EventTypeNormal, reasonScheduled, fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)}}
	if d, ok := awslogging.ForAnnotation(pod.Annotations[profile.AnnotationLogging], current); ok {
		events = append(events, event{d.EventType, d.Reason, d.Message})
	}
	return events
}

func (s *Scheduler) recordPlaced(pod *corev1.Pod, node string) {
	for _, e := range placedEvents(pod, node, s.cfg.Logging()) {
		s.recorder.Event(pod, e.eventType, e.reason, e.message)
	}
}

// wasMarked reports whether this scheduler already wrote msg for pod; the
// informer may not show that write yet.
func (s *Scheduler) wasMarked(key string, pod *corev1.Pod, msg string) bool {
	v, ok := s.marked.Load(key)
	return ok && v.(markedRecord) == markedRecord{uid: pod.UID, msg: msg}
}
