package podrunner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox/fake"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/image"
)

var errNotFaked = errors.New("not faked")

// exit ends the running attempt of the named container with code.
func exit(t *testing.T, rt *fake.Runtime, name string, code int) {
	t.Helper()
	if err := rt.Exit(name, code); err != nil {
		t.Fatal(err)
	}
}

// lifecycle lists the container starts and stops so far, in order, as
// "start NAME" and "stop NAME".
func lifecycle(rt *fake.Runtime) []string {
	var out []string
	for _, c := range rt.Calls() {
		if name, ok := strings.CutPrefix(c, "StartContainer "); ok {
			out = append(out, "start "+name)
		} else if name, ok := strings.CutPrefix(c, "StopContainer "); ok {
			out = append(out, "stop "+name)
		}
	}
	return out
}

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
func runWorker(t *testing.T, pod *corev1.Pod) (*podWorker, *fake.Runtime, *record.FakeRecorder) {
	t.Helper()
	rt := fake.New()
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
