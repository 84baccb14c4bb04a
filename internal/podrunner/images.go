package podrunner

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/image"
)

// ensureImage makes c's image available as its imagePullPolicy says,
// with kubelet's events; on failure c waits with ErrImagePull,
// ImagePullBackOff or ErrImageNeverPull.
func (w *podWorker) ensureImage(ctx context.Context, pod *corev1.Pod, c *container) (*image.Image, bool) {
	ref := c.spec.Image
	policy := c.spec.ImagePullPolicy
	img, err := w.a.cfg.Images.Get(ref)
	present := err == nil
	if policy != corev1.PullAlways {
		if present {
			if c.imageID == "" {
				w.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", ref)
			}
			c.imageName, c.imageID = img.Name, img.RepoDigest()
			return img, true
		}
		if policy == corev1.PullNever {
			err := fmt.Errorf("container image %q is not present with pull policy of Never", ref)
			w.waitWith(pod, c, "ErrImageNeverPull", err)
			return nil, false
		}
	}
	key := "pull/" + backoffKey(pod, c.spec)
	if wait, ok := w.a.backoff.waiting(key, c.pullFailedAt); ok {
		if c.waitReason != "ImagePullBackOff" {
			w.recorder.Eventf(pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", ref)
		}
		c.waitReason = "ImagePullBackOff"
		c.waitMessage = fmt.Sprintf("Back-off pulling image %q: %s", ref, wait)
		return nil, false
	}
	return w.pull(ctx, pod, c, key, present)
}

// pull pulls c's image; present says a copy is here already, so the pull
// is a digest check rather than a download.
func (w *podWorker) pull(ctx context.Context, pod *corev1.Pod, c *container, key string, present bool) (*image.Image, bool) {
	ref := c.spec.Image
	w.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", ref)
	if !present {
		w.postPending(ctx)
	}
	start := time.Now()
	img, err := w.a.cfg.Images.Pull(ctx, ref, w.keychain(ctx, pod))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false
		}
		w.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", ref, err)
		w.waitWith(pod, c, "ErrImagePull", err)
		w.a.backoff.next(key)
		c.pullFailedAt = w.a.cfg.Now()
		return nil, false
	}
	w.a.backoff.reset(key)
	w.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s", ref, since(start))
	c.imageName, c.imageID = img.Name, img.RepoDigest()
	return img, true
}

// keychain is the pod's imagePullSecrets as registry credentials.
func (w *podWorker) keychain(ctx context.Context, pod *corev1.Pod) authn.Keychain {
	var secrets []*corev1.Secret
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.a.cfg.Env.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			// kubelet goes on without a missing pull secret, and says so.
			w.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret",
				"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", ref.Name)
			continue
		}
		secrets = append(secrets, s)
	}
	return image.Keychain(secrets)
}
