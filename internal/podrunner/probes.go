package podrunner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Probe kinds, as kubelet names them in events.
const (
	startupKind   = "Startup"
	livenessKind  = "Liveness"
	readinessKind = "Readiness"
)

// probes runs the probes of a pod's running containers, one goroutine per
// probe, and keeps their verdicts for the worker.
type probes struct {
	w  *podWorker
	mu sync.Mutex
	by map[string]*containerProbes // by container name
	// terminating pauses liveness and startup probes while the pod stops,
	// as a kubelet does once a pod is deleted; readiness goes on.
	terminating atomic.Bool
}

type containerProbes struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once the probe goroutine returned
	// failed is the kind of probe (startupKind or livenessKind) that
	// reached its failureThreshold: the container is to be killed.
	failed string
}

func newProbes(w *podWorker) *probes { return &probes{w: w, by: map[string]*containerProbes{}} }

// startFor starts c's probes for its current attempt; a container without
// a readiness probe is ready once started.
func (p *probes) startFor(c *container) {
	p.stopFor(c.spec.Name)
	if !c.running() {
		return
	}
	if c.spec.ReadinessProbe == nil {
		c.ready.Store(true)
	}
	if c.spec.StartupProbe == nil && c.spec.LivenessProbe == nil && c.spec.ReadinessProbe == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp := &containerProbes{cancel: cancel, done: make(chan struct{})}
	p.mu.Lock()
	p.by[c.spec.Name] = cp
	p.mu.Unlock()
	startedAt := c.cur.StartedAt
	go func() {
		defer close(cp.done)
		p.run(ctx, c, cp, startedAt)
	}()
}

// run probes c: the startup probe until it passes, then liveness and
// readiness side by side. Initial delays count from startedAt, the
// attempt's start, as on a kubelet.
func (p *probes) run(ctx context.Context, c *container, cp *containerProbes, startedAt time.Time) {
	spec := c.spec
	if spec.StartupProbe != nil {
		if !p.loop(ctx, c, startupKind, spec.StartupProbe, startedAt, func(ok bool) bool { return !ok }) {
			p.fail(ctx, cp, startupKind)
			return
		}
		c.started.Store(true)
		p.w.poke()
	}
	var wg sync.WaitGroup
	if spec.LivenessProbe != nil {
		wg.Go(func() {
			if !p.loop(ctx, c, livenessKind, spec.LivenessProbe, startedAt, func(bool) bool { return true }) {
				p.fail(ctx, cp, livenessKind)
			}
		})
	}
	if spec.ReadinessProbe != nil {
		wg.Go(func() {
			p.loop(ctx, c, readinessKind, spec.ReadinessProbe, startedAt, func(ok bool) bool {
				if c.ready.Swap(ok) != ok {
					p.w.poke()
				}
				return true
			})
		})
	}
	wg.Wait()
}

// fail records that a probe of kind reached its failureThreshold, unless
// the probes were stopped meanwhile.
func (p *probes) fail(ctx context.Context, cp *containerProbes, kind string) {
	if ctx.Err() == nil {
		p.set(func() { cp.failed = kind })
	}
}

// loop probes every period after the initial delay. It counts successes
// and failures against the thresholds, reports each verdict to more, and
// returns false once failureThreshold is reached (true if more said
// stop after a success).
func (p *probes) loop(ctx context.Context, c *container, kind string, probe *corev1.Probe, startedAt time.Time, more func(ok bool) bool) bool {
	period := seconds(probe.PeriodSeconds, 10)
	if !sleep(ctx, time.Until(startedAt.Add(seconds(probe.InitialDelaySeconds, 0)))) {
		return false
	}
	successes, failures := 0, 0
	for {
		if kind == readinessKind || !p.terminating.Load() {
			ok := p.probe(ctx, c, kind, probe)
			if ctx.Err() != nil {
				return false
			}
			if ok {
				successes, failures = successes+1, 0
				if successes >= int(max(probe.SuccessThreshold, 1)) && !more(true) {
					return true
				}
			} else {
				successes, failures = 0, failures+1
				if failures >= int(max(probe.FailureThreshold, 1)) {
					if kind != readinessKind {
						return false
					}
					more(false)
				}
			}
		}
		if !sleep(ctx, period) {
			return false
		}
	}
}

// probe runs probe once against c and reports whether it passed, with
// kubelet's events for a failure and for a success with a warning.
func (p *probes) probe(ctx context.Context, c *container, kind string, probe *corev1.Probe) bool {
	err := p.w.runProbe(ctx, c, probe.ProbeHandler, seconds(probe.TimeoutSeconds, 1))
	if ctx.Err() != nil {
		return false
	}
	var warning probeWarning
	switch {
	case err == nil:
		return true
	case errors.As(err, &warning):
		p.w.recorder.Eventf(p.w.current(), corev1.EventTypeWarning, "ProbeWarning", "%s probe warning: %s", kind, warning.output)
		return true
	}
	p.w.recorder.Eventf(p.w.current(), corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %v", kind, err)
	return false
}

// set changes probe verdicts under the lock and wakes the worker.
func (p *probes) set(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	p.w.poke()
}

// failure is the kind of probe of the named container that reached its
// failureThreshold, or "".
func (p *probes) failure(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp := p.by[name]; cp != nil {
		return cp.failed
	}
	return ""
}

func (p *probes) stopFor(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp := p.by[name]; cp != nil {
		cp.cancel()
		delete(p.by, name)
	}
}

// stopAndWait stops the named container's probes and returns once they
// no longer read its record, so that the caller may change it.
func (p *probes) stopAndWait(name string) {
	p.mu.Lock()
	cp := p.by[name]
	p.mu.Unlock()
	p.stopFor(name)
	if cp != nil {
		<-cp.done
	}
}

func (p *probes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, cp := range p.by {
		cp.cancel()
		delete(p.by, name)
	}
}

// probeKillGrace is the grace period of a container killed because its
// probe of kind failed: the deletion's, else the probe's own
// terminationGracePeriodSeconds, else the pod's (kubelet's
// setTerminationGracePeriod).
func probeKillGrace(pod *corev1.Pod, spec *corev1.Container, kind string) time.Duration {
	probe := spec.LivenessProbe
	if kind == startupKind {
		probe = spec.StartupProbe
	}
	if pod.DeletionGracePeriodSeconds == nil && pod.Spec.TerminationGracePeriodSeconds != nil &&
		probe != nil && probe.TerminationGracePeriodSeconds != nil {
		return time.Duration(*probe.TerminationGracePeriodSeconds) * time.Second
	}
	return gracePeriod(pod)
}

func seconds(n int32, def int) time.Duration {
	if n <= 0 {
		n = int32(def)
	}
	return time.Duration(n) * time.Second
}

// sleep waits d or until ctx ends, and reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
