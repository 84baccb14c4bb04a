package podrunner

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// stopOrder is kubelet's termination ordering for pods with sidecars:
// regular (and ephemeral) containers stop first, then the sidecars in
// reverse init order, each once the ones before it have stopped or the
// grace period ran out. PreStop hooks do not wait: every container's
// hook runs at once, as on a kubelet.
type stopOrder struct {
	mu      sync.Mutex
	stopped map[string]chan struct{} // closed once the named container stopped
	after   map[string][]chan struct{}
}

// newStopOrder orders the stopping of pod's running containers; nil when
// the pod has no sidecars, so that everything stops at once.
func newStopOrder(pod *corev1.Pod, running map[string]bool) *stopOrder {
	o := &stopOrder{stopped: map[string]chan struct{}{}, after: map[string][]chan struct{}{}}
	channel := func(name string) chan struct{} {
		ch := make(chan struct{})
		if !running[name] {
			close(ch) // nothing waits for what does not run
			return ch
		}
		o.stopped[name] = ch
		return ch
	}
	var regular []chan struct{}
	for _, c := range pod.Spec.Containers {
		regular = append(regular, channel(c.Name))
	}
	var later chan struct{} // the sidecar after this one
	sidecars := 0
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		spec := &pod.Spec.InitContainers[i]
		ch := channel(spec.Name)
		if !isSidecar(spec) {
			continue
		}
		sidecars++
		o.after[spec.Name] = append(o.after[spec.Name], regular...)
		if later != nil {
			o.after[spec.Name] = append(o.after[spec.Name], later)
		}
		later = ch
	}
	if sidecars == 0 {
		return nil
	}
	return o
}

// waitTurn waits until the containers the named one stops after have
// stopped, or deadline passed. A nil stopOrder never waits.
func (o *stopOrder) waitTurn(name string, deadline time.Time) {
	if o == nil {
		return
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for _, ch := range o.after[name] {
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// done records that the named container stopped.
func (o *stopOrder) done(name string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if ch, ok := o.stopped[name]; ok {
		close(ch)
		delete(o.stopped, name)
	}
}
