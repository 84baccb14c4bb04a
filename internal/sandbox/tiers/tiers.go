// Package tiers serves a host's sandbox tiers behind one sandbox.Runtime:
// a pod goes to the runtime of the tier its PodConfig names (the host's
// default when it names none) and stays there; calls about a pod go to
// the runtime that has it, found again after an agent restart by asking
// each runtime for its pods.
package tiers

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Runtime routes by tier. Use New.
type Runtime struct {
	byTier map[sandbox.Tier]sandbox.Runtime
	order  []sandbox.Tier
	exits  chan sandbox.ContainerStatus

	mu    sync.Mutex
	owner map[string]sandbox.Tier
}

var _ sandbox.Runtime = (*Runtime)(nil)

// Tier is one tier's runtime.
type Tier struct {
	Tier    sandbox.Tier
	Runtime sandbox.Runtime
}

// New serves tiers, the first being the default.
func New(tiers ...Tier) (*Runtime, error) {
	if len(tiers) == 0 {
		return nil, fmt.Errorf("tiers: no sandbox tier given: pass --tier")
	}
	r := &Runtime{byTier: map[sandbox.Tier]sandbox.Runtime{}, exits: make(chan sandbox.ContainerStatus, 1024), owner: map[string]sandbox.Tier{}}
	for _, t := range tiers {
		if _, dup := r.byTier[t.Tier]; dup {
			return nil, fmt.Errorf("tiers: tier %s given twice", t.Tier)
		}
		r.byTier[t.Tier] = t.Runtime
		r.order = append(r.order, t.Tier)
		go forward(t.Runtime.Exits(), r.exits)
	}
	return r, nil
}

func forward(from <-chan sandbox.ContainerStatus, to chan<- sandbox.ContainerStatus) {
	for st := range from {
		select {
		case to <- st:
		default: // the node agent also polls Containers
		}
	}
}

// Default is the tier of pods that name none.
func (r *Runtime) Default() sandbox.Tier { return r.order[0] }

// Offers says whether the host runs tier t.
func (r *Runtime) Offers(t sandbox.Tier) bool { _, ok := r.byTier[t]; return ok }

// CreatePod makes the pod's sandbox in its tier.
func (r *Runtime) CreatePod(ctx context.Context, cfg sandbox.PodConfig) error {
	t := cfg.Tier
	if t == "" {
		t = r.Default()
	}
	rt, ok := r.byTier[t]
	if !ok {
		return fmt.Errorf("this host does not run sandbox tier %q (it runs %v): the scheduler should not have placed the pod here: %w", t, r.order, sandbox.ErrUnavailable)
	}
	r.mu.Lock()
	r.owner[cfg.UID] = t
	r.mu.Unlock()
	return rt.CreatePod(ctx, cfg)
}

// runtimeOf is the runtime that has uid's sandbox.
func (r *Runtime) runtimeOf(ctx context.Context, uid string) (sandbox.Runtime, error) {
	r.mu.Lock()
	t, ok := r.owner[uid]
	r.mu.Unlock()
	if ok {
		return r.byTier[t], nil
	}
	for _, t := range r.order {
		pods, err := r.byTier[t].Pods(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range pods {
			if p == uid {
				r.mu.Lock()
				r.owner[uid] = t
				r.mu.Unlock()
				return r.byTier[t], nil
			}
		}
	}
	return nil, fmt.Errorf("tiers: pod %s has no sandbox on this host: %w", uid, sandbox.ErrNotFound)
}

// Pods lists every tier's pods.
func (r *Runtime) Pods(ctx context.Context) ([]string, error) {
	var all []string
	for _, t := range r.order {
		pods, err := r.byTier[t].Pods(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, pods...)
	}
	return all, nil
}

// Exits merges every tier's exits.
func (r *Runtime) Exits() <-chan sandbox.ContainerStatus { return r.exits }

// RemovePod removes the pod's sandbox from whichever tier has it.
func (r *Runtime) RemovePod(ctx context.Context, uid string) error {
	for _, t := range r.order {
		if err := r.byTier[t].RemovePod(ctx, uid); err != nil {
			return err
		}
	}
	r.mu.Lock()
	delete(r.owner, uid)
	r.mu.Unlock()
	return nil
}

func (r *Runtime) StartContainer(ctx context.Context, uid string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	return rt.StartContainer(ctx, uid, cfg)
}

func (r *Runtime) Containers(ctx context.Context, uid string) ([]sandbox.ContainerStatus, error) {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return nil, err
	}
	return rt.Containers(ctx, uid)
}

func (r *Runtime) StopContainer(ctx context.Context, uid, id string, grace time.Duration) error {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return err
	}
	return rt.StopContainer(ctx, uid, id, grace)
}

func (r *Runtime) RemoveContainer(ctx context.Context, uid, id string) error {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return err
	}
	return rt.RemoveContainer(ctx, uid, id)
}

func (r *Runtime) Exec(ctx context.Context, uid, id string, argv []string, timeout time.Duration) (sandbox.ExecResult, error) {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return sandbox.ExecResult{}, err
	}
	return rt.Exec(ctx, uid, id, argv, timeout)
}

func (r *Runtime) ExecStream(ctx context.Context, uid, id string, argv []string, s sandbox.Streams) (int, error) {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return -1, err
	}
	return rt.ExecStream(ctx, uid, id, argv, s)
}

func (r *Runtime) Attach(ctx context.Context, uid, id string, s sandbox.Streams) error {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return err
	}
	return rt.Attach(ctx, uid, id, s)
}

func (r *Runtime) PortForward(ctx context.Context, uid string, port int32, stream io.ReadWriteCloser) error {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		stream.Close()
		return err
	}
	return rt.PortForward(ctx, uid, port, stream)
}

func (r *Runtime) Stats(ctx context.Context, uid string) (sandbox.PodUsage, error) {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return sandbox.PodUsage{}, err
	}
	return rt.Stats(ctx, uid)
}

func (r *Runtime) ReopenLog(ctx context.Context, uid, id string) error {
	rt, err := r.runtimeOf(ctx, uid)
	if err != nil {
		return err
	}
	return rt.ReopenLog(ctx, uid, id)
}
