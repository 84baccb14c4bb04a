package microvm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// call runs a unary operation on the pod's guest, mapping a missing
// container to sandbox.ErrNotFound.
func (r *Runtime) call(ctx context.Context, uid, op string, body, result any) error {
	p, err := r.podFor(ctx, uid)
	if err != nil {
		return err
	}
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	if err := conn.Call(ctx, op, body, result); err != nil {
		if errors.Is(err, vmproto.ErrNotFound) {
			return fmt.Errorf("microvm: %s: %w", err, sandbox.ErrNotFound)
		}
		return fmt.Errorf("microvm: %s: %w", op, err)
	}
	return nil
}

// StartContainer starts an attempt in the pod's guest, from the disk of
// its image, with its volumes sent to the guest first.
func (r *Runtime) StartContainer(ctx context.Context, uid string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	p, err := r.podFor(ctx, uid)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	serial, err := r.imageSerial(ctx, p, cfg.Layers)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	start, err := p.startRequest(ctx, cfg, serial)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	if err := p.remember(start.ID, containerRecord{Name: cfg.Name, Attempt: cfg.Attempt, LogPath: cfg.LogPath}); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	p.logFor(start.ID) // the file exists from the start, as the shim makes it
	var st vmproto.ContainerStatus
	if err := r.call(ctx, uid, vmproto.OpStart, start, &st); err != nil {
		p.forgetContainer(start.ID)
		return sandbox.ContainerStatus{}, err
	}
	return p.statusOf(st), nil
}

// startRequest is cfg as the guest takes it, from the image with serial.
func (p *pod) startRequest(ctx context.Context, cfg sandbox.ContainerConfig, serial string) (vmproto.Start, error) {
	mounts, err := p.volumes(ctx, cfg.Mounts)
	if err != nil {
		return vmproto.Start{}, err
	}
	s := cfg.Security
	return vmproto.Start{
		ID: newID(), Name: cfg.Name, Attempt: cfg.Attempt, ImageSerial: serial,
		Args: cfg.Args, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User, Mounts: mounts,
		MemoryLimitBytes: cfg.MemoryLimitBytes, MilliCPULimit: cfg.MilliCPULimit,
		Stdin: cfg.Stdin, StdinOnce: cfg.StdinOnce, TTY: cfg.TTY,
		TerminationMessagePath: cfg.TerminationMessagePath,
		Security: vmproto.Security{
			ReadOnlyRootfs: s.ReadOnlyRootfs, NoNewPrivileges: s.NoNewPrivileges,
			SupplementalGroups: s.SupplementalGroups, AddCapabilities: s.AddCapabilities,
			DropCapabilities: s.DropCapabilities, Sysctls: s.Sysctls,
		},
	}, nil
}

// newID is a new attempt's ID.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *pod) remember(id string, c containerRecord) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rec.Containers[id] = c
	return writeRecord(p.dir, p.rec)
}

func (p *pod) forgetContainer(id string) {
	p.mu.Lock()
	l := p.logs[id]
	delete(p.logs, id)
	delete(p.rec.Containers, id)
	_ = writeRecord(p.dir, p.rec)
	p.mu.Unlock()
	if l != nil {
		l.close()
	}
}

// statusOf is the guest's status as the node agent reads it.
func (p *pod) statusOf(st vmproto.ContainerStatus) sandbox.ContainerStatus {
	state := sandbox.StateRunning
	if st.State == vmproto.StateExited {
		state = sandbox.StateExited
	}
	return sandbox.ContainerStatus{
		ID: st.ID, Name: st.Name, Attempt: st.Attempt, State: state, Pid: st.Pid,
		StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, ExitCode: st.ExitCode,
		Reason: st.Reason, TerminationMessage: st.TerminationMessage,
	}
}

// Containers lists the guest's attempts.
func (r *Runtime) Containers(ctx context.Context, uid string) ([]sandbox.ContainerStatus, error) {
	p, err := r.podFor(ctx, uid)
	if err != nil {
		return nil, err
	}
	var list []vmproto.ContainerStatus
	if err := r.call(ctx, uid, vmproto.OpList, nil, &list); err != nil {
		return nil, err
	}
	out := make([]sandbox.ContainerStatus, 0, len(list))
	for _, st := range list {
		out = append(out, p.statusOf(st))
	}
	return out, nil
}

// StopContainer stops an attempt with its grace period; the guest answers
// once the process is gone.
func (r *Runtime) StopContainer(ctx context.Context, uid, id string, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, grace+30*time.Second)
	defer cancel()
	err := r.call(ctx, uid, vmproto.OpStop, vmproto.Stop{ID: id, GraceMillis: grace.Milliseconds()}, nil)
	if errors.Is(err, sandbox.ErrNotFound) {
		return nil
	}
	return err
}

// RemoveContainer removes an exited attempt in the guest.
func (r *Runtime) RemoveContainer(ctx context.Context, uid, id string) error {
	err := r.call(ctx, uid, vmproto.OpRemove, vmproto.Remove{ID: id}, nil)
	if err != nil && !errors.Is(err, sandbox.ErrNotFound) {
		return err
	}
	if p, perr := r.podFor(ctx, uid); perr == nil {
		p.forgetContainer(id)
	}
	return nil
}

// ReopenLog makes the attempt's log writer follow a rotation.
func (r *Runtime) ReopenLog(ctx context.Context, uid, id string) error {
	p, err := r.podFor(ctx, uid)
	if err != nil {
		return err
	}
	if l := p.logFor(id); l != nil {
		return l.reopen()
	}
	return nil
}
