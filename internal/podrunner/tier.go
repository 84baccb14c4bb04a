package podrunner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// podTier is the kind of sandbox the fargate-scheduler chose for the pod
// (its fargo.dev/sandbox-tier annotation); "" runs it in the host's
// default.
func podTier(pod *corev1.Pod) sandbox.Tier {
	return sandbox.Tier(v1.TierKind(pod.Annotations[v1.AnnotationSandboxTier]))
}

// runtimeName prefixes the pod's container IDs ("runc://…").
func (w *podWorker) runtimeName(pod *corev1.Pod) string {
	if name, ok := w.a.cfg.RuntimeNames[podTier(pod)]; ok {
		return name
	}
	return w.a.cfg.RuntimeName
}

// podImages makes every image of the pod's containers present and
// returns their layers, for tiers whose sandbox needs them when it is
// made. A pull that fails fails the sandbox's set-up, which is retried
// with back-off and shown as FailedCreatePodSandBox.
func (w *podWorker) podImages(ctx context.Context, pod *corev1.Pod) ([][]string, error) {
	var images [][]string
	specs := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range specs {
		// As ensureImage will: Always pulls (a cached copy may be older
		// than the registry's, and the VM must boot with what runs).
		img, err := w.a.cfg.Images.Get(c.Image)
		if err != nil || c.ImagePullPolicy == corev1.PullAlways {
			if err != nil && c.ImagePullPolicy == corev1.PullNever {
				return nil, fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
			}
			if img, err = w.a.cfg.Images.Pull(ctx, c.Image, w.keychain(ctx, pod)); err != nil {
				return nil, fmt.Errorf("pulling image %q: %w", c.Image, err)
			}
		}
		images = append(images, img.Layers)
	}
	return images, nil
}

// ephemeralStorage is the pod's sandbox disk, as Fargate sizes it.
func ephemeralStorage(pod *corev1.Pod) int64 {
	q := sizing.EphemeralStorage(&pod.Spec)
	return q.Value()
}
