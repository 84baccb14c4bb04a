package podrunner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// followImage moves c to spec when an update of the pod changed the
// container's image, the one field of a container an update may change.
// As on a kubelet, whose container hash then differs, a running attempt
// is killed with "definition changed" and started again on the new image
// whatever the restart policy; an exited one restarts as its policy says.
// Either way its back-off starts afresh: the key holds the image. It
// reports whether it started the new attempt.
func (w *podWorker) followImage(ctx context.Context, pod *corev1.Pod, c *container, spec *corev1.Container) bool {
	if c.spec.Image == spec.Image {
		return false
	}
	wasRunning := c.running()
	if wasRunning {
		message := fmt.Sprintf("Container %s definition changed, will be restarted", c.spec.Name)
		w.kill(ctx, c.snapshot(), time.Now().Add(gracePeriod(pod)), message, nil)
	}
	// The probes read c's spec: they end before it changes.
	w.probes.stopAndWait(c.spec.Name)
	c.spec = spec
	c.imageName, c.imageID = "", ""
	if !wasRunning {
		return false
	}
	w.refreshContainers(ctx)
	w.a.backoff.next(backoffKey(pod, c.spec))
	w.startContainer(ctx, pod, c)
	return true
}
