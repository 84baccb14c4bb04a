package podrunner

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// container is what the worker knows of one container of the pod: its
// latest attempt, the one before (kubelet's lastState), and why it waits.
type container struct {
	spec      *corev1.Container
	init      bool // an init container, maybe a sidecar (sidecar.go)
	ephemeral bool // an ephemeral container (ephemeral.go)

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
	for i := range pod.Spec.EphemeralContainers {
		w.ephemeralOf(&pod.Spec.EphemeralContainers[i])
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

// initDone reports whether the pod's init containers all succeeded (a
// sidecar: started), or a regular container ran (then they had, though
// their attempts are gone).
func initDone(pod *corev1.Pod, ctrs map[string]*container) bool {
	for _, c := range ctrs {
		if !c.init && !c.ephemeral && c.cur != nil {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := ctrs[pod.Spec.InitContainers[i].Name]
		if c.sidecar() && !c.startedNow() || !c.sidecar() && !c.succeeded() {
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

// minimumGrace is the least time a container gets between SIGTERM and
// SIGKILL, as on a kubelet, even when the grace period ran out.
const minimumGrace = 2 * time.Second

// killAll stops every running container: preStop hooks first (within
// the grace period), then SIGTERM, then SIGKILL when grace runs out.
// Regular containers stop together, sidecars after them (stoporder.go).
func (w *podWorker) killAll(ctx context.Context, grace time.Duration) {
	<-w.killAllAsync(ctx, grace)
}

// killAllAsync starts killAll's work and returns a channel closed once
// every container stopped; each stop pokes the worker, so that it can
// post the status as containers go. The goroutines work on snapshots of
// the containers, so the worker may go on refreshing its own.
func (w *podWorker) killAllAsync(ctx context.Context, grace time.Duration) <-chan struct{} {
	deadline := time.Now().Add(grace)
	running := map[string]bool{}
	var targets []*container
	for name, c := range w.ctrs {
		if c.running() {
			running[name] = true
			targets = append(targets, c.snapshot())
		}
	}
	order := newStopOrder(w.current(), running)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range targets {
		wg.Go(func() {
			w.kill(ctx, c, deadline, "Stopping container "+c.spec.Name, order)
			w.poke()
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// kill runs c's preStop hook, waits for c's turn in order (nil: none),
// and stops it by deadline. c is a snapshot (container.snapshot).
func (w *podWorker) kill(ctx context.Context, c *container, deadline time.Time, message string, order *stopOrder) {
	w.recorder.Event(w.current(), corev1.EventTypeNormal, "Killing", message)
	// A kubelet runs the hook only when there is time left for it.
	if c.spec.Lifecycle != nil && c.spec.Lifecycle.PreStop != nil && time.Until(deadline) > 0 {
		hookCtx, cancel := context.WithDeadline(ctx, deadline)
		if err := w.runHook(hookCtx, c, c.spec.Lifecycle.PreStop); err != nil {
			// As a kubelet: the event does not carry the error, which
			// may hold secrets.
			w.log.Error(err, "PreStop hook failed", "container", c.spec.Name)
			w.recorder.Event(w.current(), corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
		}
		cancel()
	}
	order.waitTurn(c.spec.Name, deadline)
	grace := max(time.Until(deadline), minimumGrace)
	if err := w.a.cfg.Runtime.StopContainer(ctx, string(w.uid), c.cur.ID, grace); err != nil {
		w.log.Error(err, "Stopping container", "container", c.spec.Name)
	}
	order.done(c.spec.Name)
}

// snapshot is a copy of c's spec and current attempt for work on other
// goroutines (hooks, stopping) while the worker updates c.
func (c *container) snapshot() *container {
	s := &container{spec: c.spec, init: c.init, ephemeral: c.ephemeral}
	if c.cur != nil {
		cur := *c.cur
		s.cur = &cur
	}
	return s
}
