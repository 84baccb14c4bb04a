package controlplane

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// supervisor runs in-process components, each under its own context so that
// they can be stopped one by one in reverse start order (controllers before
// the apiserver they talk to), and reports the first one that exits early
// to every waiter: stages start side by side.
type supervisor struct {
	parent context.Context

	mu      sync.Mutex
	running []*component

	failOnce sync.Once
	failed   chan struct{} // closed once a component exited on its own
	failure  error
}

type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func newSupervisor(parent context.Context) *supervisor {
	return &supervisor{parent: parent, failed: make(chan struct{})}
}

// start runs fn in a goroutine until stop cancels it.
func (s *supervisor) start(name string, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.running = append(s.running, c)
	s.mu.Unlock()
	go func() {
		defer close(c.done)
		c.err = fn(ctx)
		if ctx.Err() == nil {
			s.failOnce.Do(func() {
				s.failure = fmt.Errorf("%s stopped: %v", name, c.err)
				close(s.failed)
			})
		}
	}()
}

// until polls check every 100 ms until it succeeds, a component exits, the
// parent context or ctx ends or timeout passes.
func (s *supervisor) until(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.failed:
			return s.failure
		case <-s.parent.Done():
			return s.parent.Err()
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("not ready after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

// wait blocks until the parent context ends or a component exits on its own.
func (s *supervisor) wait() error {
	select {
	case <-s.parent.Done():
		return s.parent.Err()
	case <-s.failed:
		return s.failure
	}
}

// stop cancels the components newest first, waiting for each in turn.
func (s *supervisor) stop(timeout time.Duration) error {
	deadline := time.After(timeout)
	s.mu.Lock()
	running := slices.Clone(s.running)
	s.mu.Unlock()
	for _, c := range slices.Backward(running) {
		c.cancel()
		select {
		case <-c.done:
		case <-deadline:
			return fmt.Errorf("%s did not stop within %s", c.name, timeout)
		}
	}
	return nil
}
