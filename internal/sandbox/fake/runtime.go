// Package fake is a sandbox.Runtime for tests, in the style of karpenter's
// cloudprovider/fake: it keeps books instead of running anything. It
// records every call in order, fails the next call of a method with an
// error a test injects, and ends container attempts when a test says so,
// reporting them on Exits as a real runtime does.
package fake

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Runtime is the fake; the zero value is not usable, call New.
type Runtime struct {
	mu    sync.Mutex
	pods  map[string]bool
	ctrs  []sandbox.ContainerStatus
	calls []string
	next  map[string]error
	grace map[string]time.Duration
	execs map[string]sandbox.ExecResult
	exits chan sandbox.ContainerStatus
}

var _ sandbox.Runtime = (*Runtime)(nil)

// New returns an empty fake runtime.
func New() *Runtime {
	return &Runtime{pods: map[string]bool{}, next: map[string]error{}, grace: map[string]time.Duration{},
		execs: map[string]sandbox.ExecResult{}, exits: make(chan sandbox.ContainerStatus, 1024)}
}

// NextError makes the next call of method (e.g. "StartContainer") fail
// with err.
func (f *Runtime) NextError(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next[method] = err
}

// ExecResult scripts what Exec of argv (joined by spaces) returns.
func (f *Runtime) ExecResult(argv []string, r sandbox.ExecResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs[strings.Join(argv, " ")] = r
}

// AddContainer puts a container a runtime left running before the code
// under test started (an agent restart) in place.
func (f *Runtime) AddContainer(st sandbox.ContainerStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctrs = append(f.ctrs, st)
}

// call records a call and returns the error injected for method, if any.
func (f *Runtime) call(method, arg string) error {
	f.calls = append(f.calls, method+" "+arg)
	err := f.next[method]
	delete(f.next, method)
	return err
}

// Calls lists every call so far, as "Method argument", in order.
func (f *Runtime) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Called lists the arguments of the calls of method, in order.
func (f *Runtime) Called(method string) []string {
	var args []string
	for _, c := range f.Calls() {
		if arg, ok := strings.CutPrefix(c, method+" "); ok {
			args = append(args, arg)
		}
	}
	return args
}

// Grace is the grace period of the last StopContainer of container name.
func (f *Runtime) Grace(name string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grace[name]
}

// Exit ends the running attempt of container name with code, as if its
// process exited, and reports it on Exits.
func (f *Runtime) Exit(name string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.ctrs {
		if st := &f.ctrs[i]; st.Name == name && st.State == sandbox.StateRunning {
			f.end(st, code)
			return nil
		}
	}
	return fmt.Errorf("fake: no running attempt of %s: %w", name, sandbox.ErrNotFound)
}

func (f *Runtime) end(st *sandbox.ContainerStatus, code int) {
	st.State, st.ExitCode, st.FinishedAt, st.Reason = sandbox.StateExited, code, time.Now(), "Error"
	if code == 0 {
		st.Reason = "Completed"
	}
	select {
	case f.exits <- *st:
	default: // nobody reads: tests that drive rounds themselves
	}
}
