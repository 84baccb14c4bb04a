package nodeagent

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// container is what the worker knows of one container of the pod: its
// latest attempt, the one before (kubelet's lastState), and why it waits.
type container struct {
	spec *corev1.Container
	init bool

	cur  *sandbox.ContainerStatus // latest attempt; nil before the first
	last *sandbox.ContainerStatus // the attempt before it

	waitReason, waitMessage string
	pullFailedAt            time.Time
	imageName, imageID      string
	started                 atomic.Bool // startup probe passed (or none); probes write it
	ready                   atomic.Bool // readiness probe passes (or none)
}

func (c *container) running() bool {
	return c.cur != nil && c.cur.State == sandbox.StateRunning
}

func (c *container) exited() bool {
	return c.cur != nil && c.cur.State == sandbox.StateExited
}

func (c *container) succeeded() bool { return c.exited() && c.cur.ExitCode == 0 }

// attempt is the number of the next run: kubelet's restartCount once it
// has run.
func (c *container) nextAttempt() int {
	if c.cur == nil {
		return 0
	}
	return c.cur.Attempt + 1
}

func (c *container) restartCount() int32 {
	if c.cur == nil {
		return 0
	}
	return int32(c.cur.Attempt)
}

// containerOf returns the worker's record of the named container,
// making it on first use.
func (w *podWorker) containerOf(spec *corev1.Container, init bool) *container {
	c := w.ctrs[spec.Name]
	if c == nil {
		c = &container{spec: spec, init: init}
		w.ctrs[spec.Name] = c
	}
	return c
}

// adopt takes over the attempts a previous agent started, so a restart of
// the agent restarts no container. Older attempts than the two a status
// shows are removed.
func (w *podWorker) adopt(ctx context.Context) error {
	pod := w.current()
	for i := range pod.Spec.InitContainers {
		w.containerOf(&pod.Spec.InitContainers[i], true)
	}
	for i := range pod.Spec.Containers {
		w.containerOf(&pod.Spec.Containers[i], false)
	}
	list, err := w.a.cfg.Runtime.Containers(ctx, string(w.uid))
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Attempt > list[j].Attempt })
	for i := range list {
		st := list[i]
		c := w.ctrs[st.Name]
		w.remember(st.ID)
		switch {
		case c == nil:
			w.removeAttempt(ctx, st)
		case c.cur == nil:
			c.cur = &st
			c.started.Store(st.State == sandbox.StateRunning && c.spec.StartupProbe == nil)
			w.probes.startFor(c)
			w.recallImage(c)
		case c.last == nil:
			c.last = &st
		default:
			w.removeAttempt(ctx, st)
		}
	}
	w.initDone = initDone(pod, w.ctrs)
	return nil
}

// initDone reports whether the pod's init containers all succeeded, or a
// regular container ran (then they had, though their attempts are gone).
func initDone(pod *corev1.Pod, ctrs map[string]*container) bool {
	for _, c := range ctrs {
		if !c.init && c.cur != nil {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		if !ctrs[pod.Spec.InitContainers[i].Name].succeeded() {
			return false
		}
	}
	return true
}

// recallImage fills in an adopted container's image from the local store.
func (w *podWorker) recallImage(c *container) {
	if img, err := w.a.cfg.Images.Get(c.spec.Image); err == nil {
		c.imageName, c.imageID = img.Name, img.RepoDigest()
	}
}

// refreshContainers reads the runtime's view of the pod's attempts.
func (w *podWorker) refreshContainers(ctx context.Context) {
	list, err := w.a.cfg.Runtime.Containers(ctx, string(w.uid))
	if err != nil {
		w.log.Error(err, "Listing the pod's containers")
		return
	}
	byID := map[string]sandbox.ContainerStatus{}
	for _, st := range list {
		byID[st.ID] = st
	}
	for _, c := range w.ctrs {
		if c.cur == nil {
			continue
		}
		st, ok := byID[c.cur.ID]
		if !ok || st.State == c.cur.State {
			continue
		}
		c.cur = &st
		if st.State == sandbox.StateExited {
			w.exited(c)
		}
	}
}

// exited notes the end of c's current attempt.
func (w *podWorker) exited(c *container) {
	w.probes.stopFor(c.spec.Name)
	c.ready.Store(false)
	c.started.Store(false)
	if c.cur.Reason != "Completed" && !w.stopping() {
		w.log.V(2).Info("Container exited", "container", c.spec.Name, "exitCode", c.cur.ExitCode, "reason", c.cur.Reason)
	}
}

// removeAttempt removes an attempt no status needs any more.
func (w *podWorker) removeAttempt(ctx context.Context, st sandbox.ContainerStatus) {
	if st.State == sandbox.StateRunning {
		_ = w.a.cfg.Runtime.StopContainer(ctx, string(w.uid), st.ID, 0)
	}
	if err := w.a.cfg.Runtime.RemoveContainer(ctx, string(w.uid), st.ID); err != nil {
		w.log.Error(err, "Removing an old container attempt", "container", st.Name, "id", st.ID)
	}
}

// killAll stops every running container: preStop hooks first (within
// the grace period), then SIGTERM, then SIGKILL when grace runs out.
// Regular containers stop together, as on a kubelet.
func (w *podWorker) killAll(ctx context.Context, grace time.Duration) {
	deadline := time.Now().Add(grace)
	done := make(chan struct{})
	n := 0
	for _, c := range w.ctrs {
		if !c.running() {
			continue
		}
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			w.kill(ctx, c, deadline, "Stopping container "+c.spec.Name)
		}()
	}
	for range n {
		<-done
	}
}

// kill runs c's preStop hook and stops it by deadline.
func (w *podWorker) kill(ctx context.Context, c *container, deadline time.Time, message string) {
	w.recorder.Event(w.current(), corev1.EventTypeNormal, "Killing", message)
	if c.spec.Lifecycle != nil && c.spec.Lifecycle.PreStop != nil {
		hookCtx, cancel := context.WithDeadline(ctx, deadline)
		if err := w.runHook(hookCtx, c, c.spec.Lifecycle.PreStop); err != nil {
			w.recorder.Eventf(w.current(), corev1.EventTypeWarning, "FailedPreStopHook",
				"PreStopHook failed: %v", err)
		}
		cancel()
	}
	grace := max(time.Until(deadline), 0)
	if err := w.a.cfg.Runtime.StopContainer(ctx, string(w.uid), c.cur.ID, grace); err != nil {
		w.log.Error(err, "Stopping container", "container", c.spec.Name)
	}
}
