package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// killWait bounds the wait for a process to end after SIGKILL.
const killWait = 10 * time.Second

// StopContainer sends SIGTERM, waits up to grace, sends SIGKILL, and
// returns once the process is gone and its exit recorded. It takes no pod
// lock: a grace period must not hold up other work on the pod.
func (r *Runtime) StopContainer(ctx context.Context, uid, id string, grace time.Duration) error {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return err
	}
	st, err := r.status(uid, id)
	if err != nil {
		return err
	}
	if st.State == sandbox.StateExited {
		return nil
	}
	if grace > 0 {
		if err := r.oci.run(ctx, "kill", id, "TERM"); err != nil && !isNotRunning(err) {
			return fmt.Errorf("oci: stop %s: %w", id, err)
		}
		if r.waitExited(ctx, uid, id, grace) {
			return nil
		}
	}
	if err := r.oci.run(ctx, "kill", id, "KILL"); err != nil && !isNotRunning(err) {
		return fmt.Errorf("oci: stop %s: %w", id, err)
	}
	if !r.waitExited(ctx, uid, id, killWait) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("oci: stop %s: still running %v after SIGKILL: check the host for a stuck process (state D)", id, killWait)
	}
	return nil
}

// waitExited polls the attempt's status until it exited, at most d.
func (r *Runtime) waitExited(ctx context.Context, uid, id string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		st, err := r.status(uid, id)
		if err != nil || st.State == sandbox.StateExited {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RemoveContainer removes an attempt: the runtime's state (killing the
// process if it still runs), its root filesystem and directory; the log
// stays. Removing a removed attempt is a no-op.
func (r *Runtime) RemoveContainer(ctx context.Context, uid, id string) error {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return err
	}
	lock := r.podLock(uid)
	lock.RLock()
	defer lock.RUnlock()
	return r.removeContainer(ctx, uid, id)
}

func (r *Runtime) removeContainer(ctx context.Context, uid, id string) error {
	dir := r.containerDir(uid, id)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		r.forget(id)
		return nil
	}
	// Work out the exit reason while the container's cgroup still exists.
	_, _ = r.status(uid, id)
	state, stateErr := r.readState(uid, id)
	if err := r.oci.run(ctx, "delete", "--force", id); err != nil && !isNotExist(err) {
		return fmt.Errorf("oci: remove %s: %w", id, err)
	}
	if stateErr == nil {
		// The shim writes the exit file once the process is gone; it must
		// not outlive the attempt.
		if !state.Shim.waitGone(killWait) {
			state.Shim.kill(unix.SIGKILL)
		}
		state.Process.kill(unix.SIGKILL)
	}
	if err := UnmountUnder(dir); err != nil {
		return fmt.Errorf("oci: remove %s: %w", id, err)
	}
	if left := MountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("oci: remove %s: still mounted: %s", id, strings.Join(left, ", "))
	}
	if err := removeAllRetry(dir); err != nil {
		return fmt.Errorf("oci: remove %s: %w", id, err)
	}
	// A start that failed before the runtime made the cgroup, or a
	// runtime that left it: remove it too.
	_ = r.cgroups.remove(r.podCgroup(uid) + "/" + id)
	r.forget(id)
	_ = os.Remove(filepath.Join(r.cfg.RuntimeRoot, id))
	return nil
}

// ReopenLog makes the attempt's shim reopen its log file after the file
// was renamed for rotation (CRI's ReopenContainerLog).
func (r *Runtime) ReopenLog(ctx context.Context, uid, id string) error {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return err
	}
	state, err := r.readState(uid, id)
	if err != nil {
		return err
	}
	if !state.Shim.alive() {
		return fmt.Errorf("oci: reopen log of %s: its shim is not running (the container exited or its shim was killed)", id)
	}
	return state.Shim.kill(shim.ReopenSignal)
}

// removeAllRetry removes dir, retrying when a file appears in it
// meanwhile: the exit watcher may be writing final.json just then.
func removeAllRetry(dir string) error {
	var err error
	for range 5 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}
