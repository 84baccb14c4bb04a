package containerlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// testShim writes a container's log as fargo-shim does: CRI entries
// appended to the path it opened, reopening the path when asked (the
// shim's ReopenSignal) so that later lines go to the new file.
type testShim struct {
	path   string
	reopen chan chan int // answered with the index of the next line
	stop   chan struct{}
	wrote  chan struct{} // closed once every line is written
	exited chan error
}

// startShim writes n lines "line 00000"... to path, one every pause.
func startShim(t *testing.T, path string, n int, pause time.Duration) *testShim {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	s := &testShim{path: path, reopen: make(chan chan int), stop: make(chan struct{}),
		wrote: make(chan struct{}), exited: make(chan error, 1)}
	go func() { s.exited <- s.run(f, n, pause) }()
	t.Cleanup(func() {
		close(s.stop)
		if err := <-s.exited; err != nil {
			t.Errorf("test shim: %v", err)
		}
	})
	return s
}

func (s *testShim) run(f *os.File, n int, pause time.Duration) error {
	defer func() { f.Close() }()
	next := 0
	for {
		var tick <-chan time.Time
		if next < n {
			tick = time.After(pause)
		}
		select {
		case <-s.stop:
			return nil
		case ack := <-s.reopen:
			nf, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
			if err != nil {
				return err
			}
			f.Close()
			f = nf
			ack <- next
		case <-tick:
			e := entry{time.Now(), "stdout", true, lineText(next)}
			if _, err := f.WriteString(e.String()); err != nil {
				return err
			}
			if next++; next == n {
				close(s.wrote)
			}
		}
	}
}

func lineText(i int) string { return fmt.Sprintf("line %05d", i) }

// reopenLog asks the shim to reopen its log and returns the index of the
// first line that goes to the new file.
func (s *testShim) reopenLog(ctx context.Context) (int, error) {
	ack := make(chan int)
	select {
	case s.reopen <- ack:
		return <-ack, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// fakeHost is the Containers a Rotator sees: one running attempt written
// by a testShim, or by nothing when shim is nil.
type fakeHost struct {
	c      Container
	shim   *testShim
	failed error // ReopenLog's answer when set

	mu       sync.Mutex
	reopened []int // per reopen, the first line in the new file
}

func (h *fakeHost) RunningContainers(context.Context) ([]Container, error) {
	return []Container{h.c}, nil
}

func (h *fakeHost) ReopenLog(ctx context.Context, podUID, id string) error {
	if podUID != h.c.PodUID || id != h.c.ID {
		return fmt.Errorf("reopen of unknown attempt %s/%s", podUID, id)
	}
	if h.failed != nil {
		return h.failed
	}
	first := -1
	if h.shim != nil {
		var err error
		if first, err = h.shim.reopenLog(ctx); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reopened = append(h.reopened, first)
	return nil
}

// reopens returns, per reopen so far, the first line of the new file.
func (h *fakeHost) reopens() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.reopened...)
}

var errNoShim = errors.New("the shim is not running")

// ticking is a clock for Rotator.now that moves a second per call, so
// every rotation gets its own name.
func ticking(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}
