package podrunner

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// What a kubelet's active deadline handler says of a pod it ends.
const (
	deadlineReason  = "DeadlineExceeded"
	deadlineMessage = "Pod was active on the node longer than the specified deadline"
)

// pastDeadline reports whether pod has been active longer than its
// activeDeadlineSeconds (counted from its status' startTime).
func pastDeadline(pod *corev1.Pod, now time.Time) bool {
	if pod.Spec.ActiveDeadlineSeconds == nil || pod.Status.StartTime == nil {
		return false
	}
	return now.Sub(pod.Status.StartTime.Time) >= time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second
}

// checkDeadline ends the pod once it is past its deadline, which may have
// been shortened while it ran: containers stop within the grace period and
// the pod fails with reason DeadlineExceeded, never to run again.
func (w *podWorker) checkDeadline(ctx context.Context) {
	pod := w.current()
	if w.deadlineExceeded || !pastDeadline(w.withOwnStatus(pod), w.a.cfg.Now()) {
		return
	}
	w.deadlineExceeded = true
	w.recorder.Event(pod, corev1.EventTypeNormal, deadlineReason, deadlineMessage)
	w.probes.stopAll()
	w.killAll(ctx, gracePeriod(pod))
	w.refreshContainers(ctx)
}
