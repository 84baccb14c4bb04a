package oci

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Stats reads the pod cgroup's CPU and memory use and that of each running
// container attempt's own cgroup. The sandbox started when its
// namespaces were pinned (or, for a pod an earlier agent made, its pause
// process recorded): each is written once.
func (r *Runtime) Stats(ctx context.Context, uid string) (sandbox.PodUsage, error) {
	if err := validName("pod UID", uid); err != nil {
		return sandbox.PodUsage{}, err
	}
	rec, err := r.readPod(uid)
	if err != nil {
		return sandbox.PodUsage{}, err
	}
	var pod sandbox.PodUsage
	for _, marker := range []string{r.namespaceDir(uid), r.pauseFile(uid)} {
		if info, err := os.Stat(marker); err == nil {
			pod.StartedAt = info.ModTime().UTC()
			break
		}
	}
	// Containers first, the pod after: counters only grow, so the pod's
	// reading is never below the sum of its containers' readings.
	if pod.Containers, err = r.containerUsages(ctx, uid); err != nil {
		return pod, err
	}
	if pod.Usage, err = r.cgroups.usage(rec.Cgroup); err != nil {
		return pod, fmt.Errorf("oci: stats of pod %s: %w", uid, err)
	}
	return pod, nil
}

// containerUsages reads the running attempts' cgroups. An attempt that
// exits meanwhile (its cgroup gone) is left out, as a kubelet leaves out
// containers that are not running.
func (r *Runtime) containerUsages(ctx context.Context, uid string) ([]sandbox.ContainerUsage, error) {
	statuses, err := r.Containers(ctx, uid)
	if err != nil {
		return nil, err
	}
	var out []sandbox.ContainerUsage
	for _, st := range statuses {
		if st.State != sandbox.StateRunning {
			continue
		}
		state, err := r.readState(uid, st.ID)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		u, err := r.cgroups.usage(state.Cgroup)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("oci: stats of container %s: %w", st.ID, err)
		}
		out = append(out, sandbox.ContainerUsage{Name: st.Name, ID: st.ID, StartedAt: st.StartedAt, Usage: u})
	}
	return out, nil
}
