package host

import (
	"context"
	"time"

	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/podrunner"
	"github.com/fargo-dev/fargo/internal/vmdisk"
)

// imageGCInterval is how often the host collects its layer cache, as a
// kubelet collects images every 5 minutes.
const imageGCInterval = 5 * time.Minute

// imageGCMinAge keeps a layer handed out this recently whatever the
// limits: its container is about to mount it (a kubelet keeps a new image
// for 2 minutes; pulls of large images on a busy host take longer).
const imageGCMinAge = 10 * time.Minute

// collectImages removes the layers no pod of this host needs once the
// cache is past its limits, every imageGCInterval until ctx ends. The
// node agent's pods name the images in use; the store adds the mounts.
func collectImages(ctx context.Context, c Config, store *image.Store, pods *podrunner.Agent, vm *vmTier) {
	policy := image.GCPolicy{MaxSize: c.ImageCacheMaxSize.Value(), MaxUnused: c.ImageCacheMaxUnused, MinAge: imageGCMinAge}
	log := klog.FromContext(ctx)
	tick := time.NewTicker(imageGCInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		stats, err := store.Collect(policy, podImages(pods))
		if err != nil {
			log.Error(err, "image layer collection")
		}
		if stats.Freed > 0 {
			log.Info("removed unused image layers", "layers", stats.Freed, "bytes", stats.FreedBytes, "left", stats.Layers, "leftBytes", stats.Bytes)
		}
		if vm != nil {
			pruneImageDisks(ctx, vm, policy.MaxUnused)
		}
	}
}

// podImages lists the images of every pod this host has, running or
// about to run.
func podImages(pods *podrunner.Agent) []string {
	var refs []string
	for _, ip := range pods.PodNodes() {
		_, pod, ok := pods.PodNodeAt(ip)
		if !ok {
			continue
		}
		// Each list read on its own: the pod is the worker's, not ours
		// to append to.
		for _, c := range pod.Spec.InitContainers {
			refs = append(refs, c.Image)
		}
		for _, c := range pod.Spec.Containers {
			refs = append(refs, c.Image)
		}
		for _, c := range pod.Spec.EphemeralContainers {
			refs = append(refs, c.Image)
		}
	}
	return refs
}

// pruneImageDisks removes the microVM image disks no VM uses whose image
// left the host or that went unused for maxUnused.
func pruneImageDisks(ctx context.Context, vm *vmTier, maxUnused time.Duration) {
	log := klog.FromContext(ctx)
	used, err := vm.rt.DisksInUse(ctx)
	if err != nil {
		log.Error(err, "listing the microVMs' disks")
		return
	}
	n, err := vmdisk.Prune(vm.disks, used, maxUnused)
	if err != nil {
		log.Error(err, "pruning microVM image disks")
	}
	if n > 0 {
		log.Info("removed unused microVM image disks", "disks", n)
	}
}
