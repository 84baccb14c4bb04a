package podrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/sandbox"
)

// fakeRuntime is a sandbox.Runtime that only keeps books: it records
// which containers start and stop, in order, and lets a test end an
// attempt as if its process exited.
type fakeRuntime struct {
	mu     sync.Mutex
	ctrs   []sandbox.ContainerStatus
	events []string                 // "start NAME", "stop NAME"
	grace  map[string]time.Duration // the last StopContainer's grace, by name
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{grace: map[string]time.Duration{}} }

func (f *fakeRuntime) StartContainer(_ context.Context, _ string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := sandbox.ContainerStatus{ID: fmt.Sprintf("%s-%d", cfg.Name, cfg.Attempt), Name: cfg.Name, Attempt: cfg.Attempt,
		State: sandbox.StateRunning, StartedAt: time.Now()}
	f.ctrs = append(f.ctrs, st)
	f.events = append(f.events, "start "+cfg.Name)
	return st, nil
}

func (f *fakeRuntime) Containers(context.Context, string) ([]sandbox.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ctrs), nil
}

// StopContainer ends the attempt as SIGTERM would: exit code 143.
func (f *fakeRuntime) StopContainer(_ context.Context, _, id string, grace time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.ctrs {
		if st := &f.ctrs[i]; st.ID == id && st.State == sandbox.StateRunning {
			f.end(st, 143)
			f.events = append(f.events, "stop "+st.Name)
			f.grace[st.Name] = grace
		}
	}
	return nil
}

// exit ends the running attempt of the named container with code.
func (f *fakeRuntime) exit(t *testing.T, name string, code int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.ctrs {
		if st := &f.ctrs[i]; st.Name == name && st.State == sandbox.StateRunning {
			f.end(st, code)
			return
		}
	}
	t.Fatalf("no running attempt of %s", name)
}

func (f *fakeRuntime) end(st *sandbox.ContainerStatus, code int) {
	st.State, st.ExitCode, st.FinishedAt, st.Reason = sandbox.StateExited, code, time.Now(), "Error"
	if code == 0 {
		st.Reason = "Completed"
	}
}

// started lists the names of the containers started so far, in order.
func (f *fakeRuntime) started() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, e := range f.events {
		if name, ok := strings.CutPrefix(e, "start "); ok {
			names = append(names, name)
		}
	}
	return names
}

func (f *fakeRuntime) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctrs = slices.DeleteFunc(f.ctrs, func(st sandbox.ContainerStatus) bool { return st.ID == id })
	return nil
}

func (f *fakeRuntime) Exec(context.Context, string, string, []string, time.Duration) (sandbox.ExecResult, error) {
	return sandbox.ExecResult{}, nil
}

var errNotFaked = errors.New("not faked")

func (f *fakeRuntime) CreatePod(context.Context, sandbox.PodConfig) error { return nil }
func (f *fakeRuntime) RemovePod(context.Context, string) error            { return nil }
func (f *fakeRuntime) Pods(context.Context) ([]string, error)             { return nil, nil }
func (f *fakeRuntime) ExecStream(context.Context, string, string, []string, sandbox.Streams) (int, error) {
	return 0, errNotFaked
}
func (f *fakeRuntime) Attach(context.Context, string, string, sandbox.Streams) error {
	return errNotFaked
}
func (f *fakeRuntime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return errNotFaked
}
func (f *fakeRuntime) Stats(context.Context, string) (sandbox.PodUsage, error) {
	return sandbox.PodUsage{}, errNotFaked
}
func (f *fakeRuntime) ReopenLog(context.Context, string, string) error { return nil }
func (f *fakeRuntime) Exits() <-chan sandbox.ContainerStatus           { return nil }

// fakeImages has every image, with a command to run.
type fakeImages struct{}

func (fakeImages) Get(ref string) (*image.Image, error) {
	return &image.Image{Name: ref, Digest: "sha256:0", Config: image.Config{Cmd: []string{"sleep", "infinity"}}}, nil
}

func (i fakeImages) Pull(_ context.Context, ref string, _ authn.Keychain) (*image.Image, error) {
	return i.Get(ref)
}

// noEnv has no configMaps, secrets or services.
type noEnv struct{}

func (noEnv) ConfigMap(context.Context, string, string) (*corev1.ConfigMap, error) {
	return nil, errNotFaked
}
func (noEnv) Secret(context.Context, string, string) (*corev1.Secret, error) { return nil, errNotFaked }
func (noEnv) Services(context.Context, string) ([]*corev1.Service, error)    { return nil, nil }

// runWorker is a worker over a fakeRuntime whose rounds a test drives
// with round: no sandbox, network or volumes, no API server.
func runWorker(t *testing.T, pod *corev1.Pod) (*podWorker, *fakeRuntime, *record.FakeRecorder) {
	t.Helper()
	rt := newFakeRuntime()
	a := &Agent{
		cfg:     Config{RuntimeName: "runc", LogDir: t.TempDir(), Now: time.Now, Runtime: rt, Images: fakeImages{}, Env: noEnv{}},
		log:     klog.Background(),
		backoff: newBackoffs(time.Now),
		workers: map[types.UID]*podWorker{},
	}
	events := record.NewFakeRecorder(100)
	w := &podWorker{
		a: a, uid: pod.UID, pod: pod, ip: mustAddr("10.42.0.7"), log: klog.Background(), recorder: events,
		ids: map[string]bool{}, wake: make(chan struct{}, 1), stopC: make(chan struct{}), done: make(chan struct{}),
		ctrs: map[string]*container{}, logMessages: map[string]string{},
	}
	w.probes = newProbes(w)
	a.workers[pod.UID] = w
	t.Cleanup(w.probes.stopAll)
	return w, rt, events
}

// round is one turn of the worker's loop, less posting the status.
func round(w *podWorker) {
	ctx := context.Background()
	w.refreshContainers(ctx)
	w.step(ctx)
	w.publish()
}

// drain returns the events recorded so far.
func drain(events *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
