package podrunner

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// Sidecar containers are init containers with restartPolicy Always
// (kubelet's restartable init containers): one starts in init order, the
// next init container starts once it has started (its startup probe
// passed), and it keeps running beside the regular containers,
// restarted with back-off whatever the pod's restartPolicy. It does not
// keep a pod whose regular containers ended from finishing, and it stops
// after them (stoporder.go).

// isSidecar reports whether spec, an init container, is a sidecar.
func isSidecar(spec *corev1.Container) bool {
	return spec.RestartPolicy != nil && *spec.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func (c *container) sidecar() bool { return c.init && isSidecar(c.spec) }

// startedNow reports whether c runs and its startup probe passed (or it
// has none): kubelet's Started.
func (c *container) startedNow() bool { return c.running() && c.started.Load() }

// initPassed reports whether init went past the init container at index
// i before: the one after it has run. A sidecar that restarts does not
// hold back what already started after it.
func (w *podWorker) initPassed(pod *corev1.Pod, i int) bool {
	if i+1 >= len(pod.Spec.InitContainers) {
		return false
	}
	next := w.ctrs[pod.Spec.InitContainers[i+1].Name]
	return next != nil && next.cur != nil
}

// keepSidecars keeps the pod's sidecars running once init is done.
func (w *podWorker) keepSidecars(ctx context.Context, pod *corev1.Pod) {
	for i := range pod.Spec.InitContainers {
		if ctx.Err() != nil {
			return
		}
		if c := w.containerOf(&pod.Spec.InitContainers[i], true); c.sidecar() {
			w.keepSidecar(ctx, pod, c)
		}
	}
}

// keepSidecar starts sidecar c, restarts it when it exited (with
// back-off, as restartPolicy Always), and kills it when a liveness or
// startup probe failed.
func (w *podWorker) keepSidecar(ctx context.Context, pod *corev1.Pod, c *container) {
	switch {
	case c.running():
		w.checkProbes(ctx, c)
	case c.cur == nil:
		w.startContainer(ctx, pod, c)
	case c.exited():
		w.restart(ctx, pod, c)
	}
}
