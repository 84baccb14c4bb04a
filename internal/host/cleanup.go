package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/pidlock"
	"github.com/fargo-dev/fargo/internal/podrunner"
	"github.com/fargo-dev/fargo/internal/podvolume"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sandbox/microvm"
	"github.com/fargo-dev/fargo/internal/sandbox/oci"
)

// agentStopTimeout is how long a running agent gets to stop on SIGTERM.
const agentStopTimeout = time.Minute

// CleanupOptions are how Cleanup works.
type CleanupOptions struct {
	// Grace is each container's time between SIGTERM and SIGKILL.
	Grace time.Duration
	// ShimPath is fargo-shim; empty: beside this executable, then PATH.
	ShimPath string
	// Progress gets one line per step.
	Progress io.Writer
	// KeepNetwork leaves the pod network alone: the caller runs in
	// another network namespace than the agent did, and removes that.
	KeepNetwork bool
}

// Cleanup removes what the agent of dataDir left on this machine: it
// stops the agent if one runs there, stops every pod sandbox (SIGTERM,
// then SIGKILL after the grace) and removes it with its volumes and logs,
// then the pod network (bridge, routes, fargo's and kube-proxy's nftables
// tables, the pods' network namespaces) and whatever is still mounted
// under dataDir. The credentials stay: the next agent on dataDir rejoins
// without a token, and the pods' controllers recreate their pods.
func Cleanup(ctx context.Context, dataDir string, o CleanupOptions) error {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(progress, "no agent data in %s: nothing to clean up\n", dataDir)
		return nil
	}
	pid, err := pidlock.Stop(lockFile(dataDir), agentStopTimeout)
	if err != nil {
		return err
	}
	if pid > 0 {
		fmt.Fprintf(progress, "stopped the host agent (pid %d)\n", pid)
	}
	// Held while cleaning, so no agent starts on a half-removed host.
	lock, err := pidlock.Acquire(lockFile(dataDir))
	if err != nil {
		return fmt.Errorf("cannot clean up %s: %w", dataDir, err)
	}
	defer lock.Release()
	rec, ok, err := readRecord(dataDir)
	if err != nil {
		return err
	}
	if !ok {
		// Nothing says which bridge or runtime: remove no network.
		fmt.Fprintf(progress, "no host agent ran on %s\n", dataDir)
		return unmountAll(dataDir)
	}
	pods, err := removePods(ctx, dataDir, rec, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "stopped and removed %d pod sandbox(es)\n", pods)
	// The pods' logs went with them: their log positions mean nothing now.
	if err := os.RemoveAll(logRouterStateDir(dataDir)); err != nil {
		return err
	}
	if !o.KeepNetwork {
		if err := removeNetwork(ctx, dataDir, rec); err != nil {
			return err
		}
		fmt.Fprintf(progress, "removed bridge %s, its routes and nftables tables\n", rec.Bridge)
	}
	return unmountAll(dataDir)
}

// unmountAll unmounts whatever is still mounted under dir.
func unmountAll(dir string) error {
	if err := oci.UnmountUnder(dir); err != nil {
		return err
	}
	if left := oci.MountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %s", dir, strings.Join(left, ", "))
	}
	return nil
}

// removePods stops and removes every sandbox of the runtime, side by
// side, and every pod's volumes.
func removePods(ctx context.Context, dataDir string, rec hostRecord, o CleanupOptions) (int, error) {
	rt, err := oci.New(oci.Config{Root: filepath.Join(dataDir, "sandboxes"), Runtime: rec.Runtime, ShimPath: o.ShimPath})
	if err != nil {
		return 0, err
	}
	uids, err := rt.Pods(ctx)
	if err != nil {
		return 0, err
	}
	volumes := &podvolume.Manager{Root: filepath.Join(dataDir, "pods")}
	logs := podrunner.PodLogs{Dir: rec.LogDir, Index: podLogIndex(dataDir)}
	errs := make([]error, len(uids))
	var wg sync.WaitGroup
	for i, uid := range uids {
		wg.Go(func() {
			errs[i] = errors.Join(removePod(ctx, rt, volumes, uid, o.Grace), logs.Remove(uid))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	vms, err := microvm.Sweep(filepath.Join(dataDir, "microvm"))
	for _, uid := range vms {
		err = errors.Join(err, logs.Remove(uid))
	}
	if err != nil {
		return 0, err
	}
	// Volumes and logs of pods whose sandbox was already gone (a pod
	// that failed, kept for its logs until it is deleted).
	entries, _ := os.ReadDir(volumes.Root)
	for _, e := range entries {
		if err := errors.Join(volumes.Teardown(e.Name()), logs.Remove(e.Name())); err != nil {
			return 0, err
		}
	}
	// Logs of pods that finished (no sandbox, no volumes) and were not
	// deleted before the host stopped.
	for _, uid := range logs.Tracked() {
		if err := logs.Remove(uid); err != nil {
			return 0, err
		}
	}
	return len(uids) + len(vms), nil
}

// removePod stops the pod's running containers with grace, as a kubelet
// stops a deleted pod, and removes its sandbox and volumes.
func removePod(ctx context.Context, rt *oci.Runtime, volumes *podvolume.Manager, uid string, grace time.Duration) error {
	list, err := rt.Containers(ctx, uid)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, c := range list {
		if c.State == sandbox.StateRunning {
			wg.Go(func() { rt.StopContainer(ctx, uid, c.ID, grace) })
		}
	}
	wg.Wait()
	return errors.Join(rt.RemovePod(ctx, uid), volumes.Teardown(uid))
}

// removeNetwork tears the recorded pod network down.
func removeNetwork(ctx context.Context, dataDir string, rec hostRecord) error {
	cfg, err := rec.networkConfig(dataDir)
	if err != nil {
		return err
	}
	n, err := network.New(cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	return n.Teardown(ctx)
}
