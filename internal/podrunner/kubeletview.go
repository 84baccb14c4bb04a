package podrunner

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fargo-dev/fargo/internal/containerlog"
	"github.com/fargo-dev/fargo/internal/kubeletapi"
	"github.com/fargo-dev/fargo/internal/sandbox"
)

// The Agent answers the kubelet API (internal/kubeletapi) and the log
// rotator (internal/containerlog) from a view each worker publishes after
// every round, so that neither reads the worker's own state.
var (
	_ kubeletapi.Pods         = (*Agent)(nil)
	_ containerlog.Containers = (*Agent)(nil)
)

// attemptView is what others may know of one container: its latest
// attempt and the one before, and why it waits.
type attemptView struct {
	cur, last  *sandbox.ContainerStatus
	waitReason string
	logPath    func(attempt int) string
}

// publish copies the containers' attempts into the shared view.
func (w *podWorker) publish() {
	pod := w.current()
	view := make(map[string]attemptView, len(w.ctrs))
	for name, c := range w.ctrs {
		v := attemptView{waitReason: c.waitReason}
		if c.cur != nil {
			cur := *c.cur
			v.cur = &cur
		}
		if c.last != nil {
			last := *c.last
			v.last = &last
		}
		v.logPath = func(attempt int) string { return logPath(w.a.cfg.LogDir, pod, name, attempt) }
		view[name] = v
	}
	w.mu.Lock()
	w.view = view
	w.mu.Unlock()
}

// PodNodeAt implements kubeletapi.Pods.
func (a *Agent) PodNodeAt(ip netip.Addr) (string, *corev1.Pod, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// A pod's IP (and so its node's name) is reused as soon as it was
	// released; the worker of the pod before it may still be stopping,
	// and must not answer for the new one.
	var stopping *podWorker
	for _, w := range a.workers {
		switch {
		case w.ip != ip:
		case !w.stopping():
			return w.node.Name, w.current(), true
		default:
			stopping = w
		}
	}
	if stopping != nil {
		return stopping.node.Name, stopping.current(), true
	}
	return "", nil, false
}

// PodNodes returns the pod-nodes whose pods run here: name -> address.
func (a *Agent) PodNodes() map[string]netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	nodes := make(map[string]netip.Addr, len(a.workers))
	for _, w := range a.workers {
		nodes[w.node.Name] = w.ip
	}
	return nodes
}

// Starting counts the pods whose start is under way: their sandbox is
// being set up, or their status since has not been posted. Work that can
// wait (a serving certificate) waits for none to be.
func (a *Agent) Starting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, w := range a.workers {
		if !w.settled.Load() && !w.stopping() {
			n++
		}
	}
	return n
}

// Container implements kubeletapi.Pods, with the kubelet's messages.
func (a *Agent) Container(uid types.UID, name string, previous bool) (kubeletapi.Container, error) {
	a.mu.Lock()
	w := a.workers[uid]
	a.mu.Unlock()
	if w == nil {
		return kubeletapi.Container{}, fmt.Errorf("pod %s is not running on this node: %w", uid, kubeletapi.ErrNotFound)
	}
	w.mu.Lock()
	v, ok := w.view[name]
	w.mu.Unlock()
	podName := w.current().Name
	switch {
	case !ok:
		return kubeletapi.Container{}, fmt.Errorf("container %q in pod %q is not available: %w", name, podName, kubeletapi.ErrNotFound)
	case previous && v.last == nil:
		return kubeletapi.Container{}, fmt.Errorf("previous terminated container %q in pod %q not found: %w", name, podName, kubeletapi.ErrNotFound)
	case previous:
		return kubeletapi.Container{ID: v.last.ID, LogPath: v.logPath(v.last.Attempt)}, nil
	case v.cur == nil:
		reason := v.waitReason
		if reason == "" {
			reason = "ContainerCreating"
		}
		return kubeletapi.Container{}, fmt.Errorf("container %q in pod %q is waiting to start: %s: %w", name, podName, reason, kubeletapi.ErrNotFound)
	}
	return kubeletapi.Container{ID: v.cur.ID, LogPath: v.logPath(v.cur.Attempt), Running: v.cur.State == sandbox.StateRunning}, nil
}

// RunningContainers implements containerlog.Containers.
func (a *Agent) RunningContainers(ctx context.Context) ([]containerlog.Container, error) {
	a.mu.Lock()
	workers := make([]*podWorker, 0, len(a.workers))
	for _, w := range a.workers {
		workers = append(workers, w)
	}
	a.mu.Unlock()
	var out []containerlog.Container
	for _, w := range workers {
		w.mu.Lock()
		for _, v := range w.view {
			if v.cur != nil && v.cur.State == sandbox.StateRunning {
				out = append(out, containerlog.Container{PodUID: string(w.uid), ID: v.cur.ID, LogPath: v.logPath(v.cur.Attempt)})
			}
		}
		w.mu.Unlock()
	}
	return out, nil
}

// ReopenLog implements containerlog.Containers.
func (a *Agent) ReopenLog(ctx context.Context, podUID, id string) error {
	return a.cfg.Runtime.ReopenLog(ctx, podUID, id)
}
