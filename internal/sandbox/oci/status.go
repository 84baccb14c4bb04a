package oci

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// An attempt's status comes from, in order: final.json (its exit, once
// worked out), exit.json (written by the shim), the shim or the
// container's process still running, and otherwise, when both died
// without an exit file (the shim was killed), an exit with code 255 and
// Reason "Error": the real code is lost with the shim.

// adoptPollInterval is how often containers this Runtime did not start
// (it adopted them after an agent restart) are checked for an exit.
const adoptPollInterval = 500 * time.Millisecond

func (r *Runtime) finalFile(uid, id string) string {
	return filepath.Join(r.containerDir(uid, id), "final.json")
}

// status works out one attempt's status; the error wraps os.ErrNotExist
// for an attempt that does not exist.
func (r *Runtime) status(uid, id string) (sandbox.ContainerStatus, error) {
	var final sandbox.ContainerStatus
	if data, err := os.ReadFile(r.finalFile(uid, id)); err == nil && json.Unmarshal(data, &final) == nil {
		return final, nil
	}
	state, err := r.readState(uid, id)
	if err != nil {
		return final, err
	}
	exitFile := filepath.Join(r.containerDir(uid, id), "exit.json")
	if exit, err := shim.ReadExitFile(exitFile); err == nil {
		return r.finalize(state, exit), nil
	}
	st := sandbox.ContainerStatus{
		ID: id, Name: state.Name, Attempt: state.Attempt,
		Pid: state.Process.Pid, StartedAt: state.StartedAt, State: sandbox.StateRunning,
	}
	switch {
	case state.Shim.Pid == 0:
		// Being started, or a start cut short by an agent crash.
		st.State = sandbox.StateCreated
		return st, nil
	case state.Shim.alive() || state.Process.alive():
		return st, nil
	}
	// The shim writes the exit file just before it ends: look again.
	if exit, err := shim.ReadExitFile(exitFile); err == nil {
		return r.finalize(state, exit), nil
	}
	return r.finalize(state, shim.ExitStatus{
		ExitCode: shim.UnknownExitCode, StartedAt: state.StartedAt, FinishedAt: time.Now().UTC(),
	}), nil
}

// finalize works out the exit's reason and records it in final.json, so
// the reason stays right after the container's cgroup is gone.
func (r *Runtime) finalize(state containerState, exit shim.ExitStatus) sandbox.ContainerStatus {
	st := sandbox.ContainerStatus{
		ID: state.ID, Name: state.Name, Attempt: state.Attempt, State: sandbox.StateExited,
		Pid: state.Process.Pid, StartedAt: state.StartedAt, FinishedAt: exit.FinishedAt,
		ExitCode: exit.ExitCode, Reason: "Error",
		TerminationMessage: terminationMessage(state.TerminationLog),
	}
	switch {
	case exit.ExitCode == 0:
		st.Reason = "Completed"
	case r.oomKilled(state):
		st.Reason = "OOMKilled"
	}
	if data, err := json.Marshal(st); err == nil {
		_ = shim.WriteFileAtomic(r.finalFile(state.PodUID, state.ID), data)
	}
	return st
}

// oomKilled says whether the OOM killer struck the attempt: in its own
// cgroup (counted there whichever limit was hit, the container's or the
// pod's), or, when that is gone, in the pod's since the attempt started.
func (r *Runtime) oomKilled(state containerState) bool {
	if n := r.cgroups.oomKills(state.Cgroup); n >= 0 {
		return n > 0
	}
	pod := r.cgroups.oomKills(r.podCgroup(state.PodUID))
	return pod >= 0 && state.PodOOMKillsAtStart >= 0 && pod > state.PodOOMKillsAtStart
}

// Containers lists the pod's attempts that exist, with their status.
func (r *Runtime) Containers(ctx context.Context, uid string) ([]sandbox.ContainerStatus, error) {
	if err := validName("pod UID", uid); err != nil {
		return nil, err
	}
	ids, err := r.containerIDs(uid)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []sandbox.ContainerStatus
	for _, id := range ids {
		st, err := r.status(uid, id)
		if errors.Is(err, os.ErrNotExist) {
			continue // being created or removed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// adoptedContainer is an attempt started by an earlier agent process.
type adoptedContainer struct{ podUID, id string }

// adoptAll starts watching the running attempts found on disk.
func (r *Runtime) adoptAll() error {
	uids, err := r.Pods(context.Background())
	if err != nil {
		return err
	}
	for _, uid := range uids {
		ids, _ := r.containerIDs(uid)
		for _, id := range ids {
			if st, err := r.status(uid, id); err == nil && st.State == sandbox.StateRunning {
				r.adopt(uid, id)
			}
		}
	}
	return nil
}

// adopt polls the attempt for its exit.
func (r *Runtime) adopt(uid, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adopted[id] = adoptedContainer{podUID: uid, id: id}
	if !r.poller {
		r.poller = true
		go r.pollAdopted()
	}
}

// pollAdopted checks adopted attempts until none is left.
func (r *Runtime) pollAdopted() {
	for {
		time.Sleep(adoptPollInterval)
		r.mu.Lock()
		list := make([]adoptedContainer, 0, len(r.adopted))
		for _, a := range r.adopted {
			list = append(list, a)
		}
		if len(list) == 0 {
			r.poller = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for _, a := range list {
			st, err := r.status(a.podUID, a.id)
			if err != nil || st.State == sandbox.StateExited {
				r.mu.Lock()
				delete(r.adopted, a.id)
				r.mu.Unlock()
			}
			if err == nil && st.State == sandbox.StateExited {
				r.deliver(st)
			}
		}
	}
}

// onShimExit handles the end of a shim started by this Runtime.
func (r *Runtime) onShimExit(uid, id string) {
	st, err := r.status(uid, id)
	switch {
	case err != nil:
		return // removed meanwhile
	case st.State == sandbox.StateExited:
		r.deliver(st)
	default:
		// The shim was killed but the container runs on: poll it.
		r.adopt(uid, id)
	}
}

// deliver sends an exit on Exits once; a full channel drops it (the
// agent polls Containers as well).
func (r *Runtime) deliver(st sandbox.ContainerStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.delivered[st.ID] {
		return
	}
	r.delivered[st.ID] = true
	select {
	case r.exits <- st:
	default:
	}
}

// forget drops what the Runtime keeps in memory of a removed attempt.
func (r *Runtime) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.delivered, id)
	delete(r.adopted, id)
}
