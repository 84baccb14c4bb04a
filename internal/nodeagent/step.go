package nodeagent

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// step starts what should run now: the next init container, or the
// regular containers once init is done, and restarts exited ones as the
// restart policy says, with back-off.
func (w *podWorker) step(ctx context.Context) {
	pod := w.current()
	if !w.initDone {
		w.stepInit(ctx, pod)
		if !w.initDone {
			return
		}
	}
	for i := range pod.Spec.Containers {
		if ctx.Err() != nil {
			return
		}
		c := w.containerOf(&pod.Spec.Containers[i], false)
		switch {
		case c.running():
			w.checkLiveness(ctx, c)
		case c.cur == nil:
			w.startContainer(ctx, pod, c)
		case c.exited() && shouldRestart(pod.Spec.RestartPolicy, c.cur.ExitCode):
			w.restart(ctx, pod, c)
		}
	}
}

// stepInit runs init containers one at a time, in order.
func (w *podWorker) stepInit(ctx context.Context, pod *corev1.Pod) {
	for i := range pod.Spec.InitContainers {
		c := w.containerOf(&pod.Spec.InitContainers[i], true)
		switch {
		case c.succeeded():
			continue
		case c.running():
			return
		case c.cur == nil:
			w.startContainer(ctx, pod, c)
			return
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return // the pod has failed
		default:
			w.restart(ctx, pod, c)
			return
		}
	}
	w.initDone = true
}

// shouldRestart applies the pod's restartPolicy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// restart starts c again unless it is backing off; kubelet's back-off
// doubles from 10 s to 5 min and starts over once a run lasted 10 min.
func (w *podWorker) restart(ctx context.Context, pod *corev1.Pod, c *container) {
	key := backoffKey(pod, c.spec.Name)
	if c.cur.StartedAt.IsZero() || c.cur.FinishedAt.Sub(c.cur.StartedAt) >= backoffReset {
		w.a.backoff.reset(key)
	}
	if wait, ok := w.a.backoff.waiting(key, c.cur.FinishedAt); ok {
		if c.waitReason != "CrashLoopBackOff" {
			w.recorder.Eventf(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.spec.Name, podDesc(pod))
		}
		c.waitReason = "CrashLoopBackOff"
		c.waitMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", wait, c.spec.Name, podDesc(pod))
		return
	}
	w.a.backoff.next(key)
	w.startContainer(ctx, pod, c)
}

// checkLiveness restarts c when its liveness probe says so.
func (w *podWorker) checkLiveness(ctx context.Context, c *container) {
	if !w.probes.failedLiveness(c.spec.Name) {
		return
	}
	deadline := time.Now().Add(gracePeriod(w.current()))
	w.kill(ctx, c, deadline, fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.spec.Name))
	w.refreshContainers(ctx)
}

func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
