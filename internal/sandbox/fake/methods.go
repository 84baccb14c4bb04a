package fake

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// CreatePod implements sandbox.Runtime.
func (f *Runtime) CreatePod(_ context.Context, cfg sandbox.PodConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreatePod", cfg.UID); err != nil {
		return err
	}
	if f.pods[cfg.UID] {
		return fmt.Errorf("fake: pod %s: %w", cfg.UID, sandbox.ErrAlreadyExists)
	}
	f.pods[cfg.UID] = true
	return nil
}

// StartContainer implements sandbox.Runtime: the attempt runs until
// StopContainer or Exit.
func (f *Runtime) StartContainer(_ context.Context, _ string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("StartContainer", cfg.Name); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	st := sandbox.ContainerStatus{ID: fmt.Sprintf("%s-%d", cfg.Name, cfg.Attempt), Name: cfg.Name,
		Attempt: cfg.Attempt, State: sandbox.StateRunning, StartedAt: time.Now()}
	f.ctrs = append(f.ctrs, st)
	return st, nil
}

// Containers implements sandbox.Runtime.
func (f *Runtime) Containers(context.Context, string) ([]sandbox.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ctrs), nil
}

// StopContainer implements sandbox.Runtime: it ends the attempt as
// SIGTERM would (exit code 143) and keeps the grace it was given.
func (f *Runtime) StopContainer(_ context.Context, _, id string, grace time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.ctrs {
		if st := &f.ctrs[i]; st.ID == id && st.State == sandbox.StateRunning {
			if err := f.call("StopContainer", st.Name); err != nil {
				return err
			}
			f.grace[st.Name] = grace
			f.end(st, 143)
		}
	}
	return nil
}

// RemoveContainer implements sandbox.Runtime.
func (f *Runtime) RemoveContainer(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemoveContainer", id); err != nil {
		return err
	}
	f.ctrs = slices.DeleteFunc(f.ctrs, func(st sandbox.ContainerStatus) bool { return st.ID == id })
	return nil
}

// Exec implements sandbox.Runtime with the result ExecResult scripted for
// argv; an unscripted command succeeds.
func (f *Runtime) Exec(_ context.Context, _, _ string, argv []string, _ time.Duration) (sandbox.ExecResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(argv, " ")
	if err := f.call("Exec", cmd); err != nil {
		return sandbox.ExecResult{}, err
	}
	return f.execs[cmd], nil
}

// RemovePod implements sandbox.Runtime.
func (f *Runtime) RemovePod(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemovePod", uid); err != nil {
		return err
	}
	delete(f.pods, uid)
	return nil
}

// Pods implements sandbox.Runtime.
func (f *Runtime) Pods(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var uids []string
	for uid := range f.pods {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	return uids, nil
}

// Exits implements sandbox.Runtime.
func (f *Runtime) Exits() <-chan sandbox.ContainerStatus { return f.exits }

// ReopenLog implements sandbox.Runtime.
func (f *Runtime) ReopenLog(context.Context, string, string) error { return nil }

// The streaming calls are not faked: they need a process on the other end.

// ExecStream implements sandbox.Runtime; it is not faked.
func (f *Runtime) ExecStream(context.Context, string, string, []string, sandbox.Streams) (int, error) {
	return 0, fmt.Errorf("fake: ExecStream: %w", sandbox.ErrUnavailable)
}

// Attach implements sandbox.Runtime; it is not faked.
func (f *Runtime) Attach(context.Context, string, string, sandbox.Streams) error {
	return fmt.Errorf("fake: Attach: %w", sandbox.ErrUnavailable)
}

// PortForward implements sandbox.Runtime; it is not faked.
func (f *Runtime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return fmt.Errorf("fake: PortForward: %w", sandbox.ErrUnavailable)
}

// Stats implements sandbox.Runtime; it is not faked.
func (f *Runtime) Stats(context.Context, string) (sandbox.PodUsage, error) {
	return sandbox.PodUsage{}, fmt.Errorf("fake: Stats: %w", sandbox.ErrUnavailable)
}
