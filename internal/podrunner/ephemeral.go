package podrunner

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// Ephemeral containers are added to a running pod through its
// pods/ephemeralcontainers subresource (kubectl debug). Agent.Start hands
// the worker every newer pod, so the next round sees them. As on a
// kubelet they start even before init is done, are never restarted, and
// have no probes, ports or lifecycle hooks (the API refuses those); exec,
// attach and logs reach them by name like any other container.

// ephemeralOf returns the worker's record of ec, making it on first use.
func (w *podWorker) ephemeralOf(ec *corev1.EphemeralContainer) *container {
	c := w.ctrs[ec.Name]
	if c == nil {
		// The same fields as a container's, less what ephemeral ones
		// may not have: the conversion a kubelet makes too.
		spec := corev1.Container(ec.EphemeralContainerCommon)
		c = &container{spec: &spec, ephemeral: true}
		w.ctrs[ec.Name] = c
	}
	return c
}

// stepEphemeral starts the pod's ephemeral containers that never ran.
func (w *podWorker) stepEphemeral(ctx context.Context, pod *corev1.Pod) {
	for i := range pod.Spec.EphemeralContainers {
		if ctx.Err() != nil {
			return
		}
		if c := w.ephemeralOf(&pod.Spec.EphemeralContainers[i]); c.cur == nil {
			w.startContainer(ctx, pod, c)
		}
	}
}

// ephemeralStatuses are the pod's ephemeral containers' statuses, in
// spec order. A kubelet's prober sets neither Started nor Ready for them.
func (w *podWorker) ephemeralStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for i := range pod.Spec.EphemeralContainers {
		ec := &pod.Spec.EphemeralContainers[i]
		spec := corev1.Container(ec.EphemeralContainerCommon)
		st := w.containerStatus(&spec)
		st.Started, st.Ready = nil, false
		out = append(out, st)
	}
	return out
}
