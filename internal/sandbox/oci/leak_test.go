package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// podProcesses are the processes a pod's sandbox consists of: for each
// container its process and its shim.
func podProcesses(t testing.TB, r *Runtime, uid string) []processRef {
	t.Helper()
	var procs []processRef
	ids, err := r.containerIDs(uid)
	must(t, err)
	for _, id := range ids {
		st, err := r.readState(uid, id)
		must(t, err)
		procs = append(procs, st.Shim, st.Process)
	}
	return procs
}

// checkPodGone fails unless nothing of the pod is left: process, mount,
// cgroup directory in any hierarchy, pod directory.
func checkPodGone(t testing.TB, r *Runtime, uid string, procs []processRef) error {
	for _, p := range procs {
		if p.alive() {
			return fmt.Errorf("process %d of pod %s still runs", p.Pid, uid)
		}
	}
	if m := MountsUnder(r.podDir(uid)); len(m) > 0 {
		return fmt.Errorf("mounts left under the pod dir: %v", m)
	}
	for _, m := range r.cgroups.mounts {
		if _, err := os.Stat(filepath.Join(m, r.podCgroup(uid))); err == nil {
			return fmt.Errorf("cgroup %s left in %s", r.podCgroup(uid), m)
		}
	}
	if _, err := os.Stat(r.podDir(uid)); err == nil {
		return fmt.Errorf("pod dir %s left", r.podDir(uid))
	}
	return nil
}

// runAndRemovePod makes a pod with two containers and removes it.
func runAndRemovePod(t testing.TB, r *Runtime, layer, netns string) error {
	pod := podConfig(netns)
	ctx := context.Background()
	if err := r.CreatePod(ctx, pod); err != nil {
		return err
	}
	for _, name := range []string{"a", "b"} {
		cfg := shellContainer(t, layer, name, "trap '' TERM; exec sleep 1000")
		if _, err := r.StartContainer(ctx, pod.UID, cfg); err != nil {
			return err
		}
	}
	procs := podProcesses(t, r, pod.UID)
	if err := r.RemovePod(ctx, pod.UID); err != nil {
		return err
	}
	if err := checkPodGone(t, r, pod.UID, procs); err != nil {
		return err
	}
	// Removing again is a no-op.
	return r.RemovePod(ctx, pod.UID)
}

func TestRemovePodLeavesNothing(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	netns := testNetns(t)
	t.Run("one pod", func(t *testing.T) {
		if err := runAndRemovePod(t, r, layer, netns); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("20 pods, 5 at a time", func(t *testing.T) {
		began := time.Now()
		sem := make(chan struct{}, 5)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs <- runAndRemovePod(t, r, layer, netns)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		uids, err := r.Pods(context.Background())
		must(t, err)
		if len(uids) != 0 {
			t.Errorf("Pods after removing all = %v", uids)
		}
		if m := MountsUnder(r.cfg.Root); len(m) > 0 {
			t.Errorf("mounts left under the root: %v", m)
		}
		t.Logf("20 pods of 2 containers made and removed in %v", time.Since(began))
	})
}
