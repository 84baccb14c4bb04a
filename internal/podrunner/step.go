package podrunner

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// step starts what should run now: ephemeral containers added to the
// pod, the next init container (sidecars stay up), or the regular
// containers once init is done, and restarts exited ones as the restart
// policy says, with back-off.
func (w *podWorker) step(ctx context.Context) {
	pod := w.current()
	if w.deadlineExceeded || terminal(w.phase()) {
		// Nothing starts again; finish stops what still runs (sidecars).
		return
	}
	w.stepEphemeral(ctx, pod)
	if !w.initDone {
		w.stepInit(ctx, pod)
		if !w.initDone {
			return
		}
	}
	w.keepSidecars(ctx, pod)
	for i := range pod.Spec.Containers {
		if ctx.Err() != nil {
			return
		}
		c := w.containerOf(&pod.Spec.Containers[i], false)
		if w.followImage(ctx, pod, c, &pod.Spec.Containers[i]) {
			continue
		}
		switch {
		case c.running():
			w.checkProbes(ctx, c)
		case c.cur == nil:
			w.startContainer(ctx, pod, c)
		case c.exited() && shouldRestart(pod.Spec.RestartPolicy, c.cur.ExitCode):
			w.restart(ctx, pod, c)
		}
	}
}

// stepInit runs init containers in order: a regular one must succeed
// before the next starts, a sidecar must have started (its startup probe
// passed) and keeps running.
func (w *podWorker) stepInit(ctx context.Context, pod *corev1.Pod) {
	for i := range pod.Spec.InitContainers {
		if ctx.Err() != nil {
			return
		}
		c := w.containerOf(&pod.Spec.InitContainers[i], true)
		if c.sidecar() {
			w.keepSidecar(ctx, pod, c)
			if !c.startedNow() && !w.initPassed(pod, i) {
				return
			}
			continue
		}
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

// terminal reports a phase a pod never leaves.
func terminal(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
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
	key := backoffKey(pod, c.spec)
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

// checkProbes kills c when its liveness or startup probe failed, with
// kubelet's message; the next round restarts it as its policy says.
func (w *podWorker) checkProbes(ctx context.Context, c *container) {
	kind := w.probes.failure(c.spec.Name)
	if kind == "" {
		return
	}
	pod := w.current()
	message := fmt.Sprintf("Container %s failed %s probe", c.spec.Name, strings.ToLower(kind))
	switch {
	case c.sidecar():
		message = fmt.Sprintf("Init container %s failed %s probe", c.spec.Name, strings.ToLower(kind))
	case pod.Spec.RestartPolicy != corev1.RestartPolicyNever:
		message += ", will be restarted"
	}
	deadline := time.Now().Add(probeKillGrace(pod, c.spec, kind))
	w.kill(ctx, c.snapshot(), deadline, message, nil)
	w.refreshContainers(ctx)
}

func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
