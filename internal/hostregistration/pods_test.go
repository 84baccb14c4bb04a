package hostregistration

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// TestSyncPodHandsThePodOn: a bound, admitted pod goes to the sandboxes
// as it is; its first status is theirs to post (in one write with its
// running containers when the start is quick), so the agent writes nothing.
func TestSyncPodHandsThePodOn(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	node := testNode(pod, "10.42.1.5", testHost)
	sb := &fakeSandboxes{}
	a, cs := newTestAgent(t, newClock(), sb, node, pod)
	if err := a.syncPod(context.Background(), "game/web"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"start uid-web on " + node.Name}; !reflect.DeepEqual(sb.calls, want) {
		t.Errorf("sandbox calls %v, want %v", sb.calls, want)
	}
	if w := writes(cs.Actions()); len(w) != 0 {
		t.Errorf("writes %v, want none", w)
	}
}

func TestSyncPodLeavesOthersAlone(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	otherScheduler := pod.DeepCopy()
	otherScheduler.Spec.SchedulerName = corev1.DefaultSchedulerName
	tests := []struct {
		name string
		objs []runtime.Object
	}{
		{"pod on another host's node", []runtime.Object{testNode(pod, "10.42.1.5", "h2"), pod}},
		{"pod whose node is not known yet", []runtime.Object{pod}},
		{"pod not bound yet", []runtime.Object{testPod("web", "uid-web", "")}},
		{"pod of another scheduler", []runtime.Object{testNode(pod, "10.42.1.5", testHost), otherScheduler}},
		{"pod that is gone", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := &fakeSandboxes{}
			a, cs := newTestAgent(t, newClock(), sb, tt.objs...)
			if err := a.syncPod(context.Background(), "game/web"); err != nil {
				t.Fatal(err)
			}
			if w := writes(cs.Actions()); len(w) != 0 {
				t.Errorf("writes %v, want none", w)
			}
			if len(sb.calls) != 0 {
				t.Errorf("sandbox calls %v, want none", sb.calls)
			}
		})
	}
}

// fakeSandboxes records its calls, as "start UID" and "stop UID".
type fakeSandboxes struct {
	mu       sync.Mutex // for tests that run the agent: read with called
	calls    []string
	startErr error
	stopping bool // Stop reports the sandbox still stopping
}

// called reports whether call was made, while the agent may be running.
func (f *fakeSandboxes) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, call)
}

func (f *fakeSandboxes) Stopped() <-chan string { return nil }

func (f *fakeSandboxes) Collect(context.Context, map[types.UID]bool) error { return nil }

func (f *fakeSandboxes) Start(_ context.Context, pod *corev1.Pod, node *corev1.Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+string(pod.UID)+" on "+node.Name)
	return f.startErr
}

func (f *fakeSandboxes) Stop(_ context.Context, pod *corev1.Pod) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+string(pod.UID))
	return !f.stopping, nil
}

func TestSyncPodDeletion(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	pod.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	pod.DeletionGracePeriodSeconds = ptr.To[int64](30)
	node := testNode(pod, "10.42.1.5", testHost)
	tests := []struct {
		name      string
		sandboxes *fakeSandboxes
		wantCalls []string
		wantWrite bool
	}{
		{"without sandboxes", nil, nil, true},
		{"the sandbox stops first", &fakeSandboxes{}, []string{"stop uid-web"}, true},
		{"a sandbox still stopping keeps the pod", &fakeSandboxes{stopping: true}, []string{"stop uid-web"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb Sandboxes
			if tt.sandboxes != nil {
				sb = tt.sandboxes
			}
			a, cs := newTestAgent(t, newClock(), sb, node, pod)
			if err := a.syncPod(context.Background(), "game/web"); err != nil {
				t.Fatal(err)
			}
			w := writes(cs.Actions())
			if !tt.wantWrite {
				if len(w) != 0 {
					t.Fatalf("writes %v, want none while the sandbox stops", w)
				}
				return
			}
			if len(w) != 1 {
				t.Fatalf("writes %v, want one delete", w)
			}
			del, ok := w[0].(clienttesting.DeleteAction)
			if !ok {
				t.Fatalf("write %v, want a delete", w[0])
			}
			opts := del.GetDeleteOptions()
			if ptr.Deref(opts.GracePeriodSeconds, -1) != 0 || opts.Preconditions == nil || ptr.Deref(opts.Preconditions.UID, "") != pod.UID {
				t.Errorf("delete options %+v, want grace period 0 and UID precondition %s", opts, pod.UID)
			}
			if tt.sandboxes != nil && !reflect.DeepEqual(tt.sandboxes.calls, tt.wantCalls) {
				t.Errorf("sandbox calls %v, want %v", tt.sandboxes.calls, tt.wantCalls)
			}
		})
	}
}

// TestSandboxLifecycle walks one pod name through Start, a retry, a new
// pod under the same name, and the pod object vanishing.
func TestSandboxLifecycle(t *testing.T) {
	first := testPod("web", "uid-1", "10.42.1.5")
	second := testPod("web", "uid-2", "10.42.1.5")
	node := testNode(first, "10.42.1.5", testHost)
	sb := &fakeSandboxes{startErr: context.DeadlineExceeded}
	a, _ := newTestAgent(t, newClock(), sb, node, first)
	ctx := context.Background()
	steps := []struct {
		name      string
		change    func()
		wantErr   bool
		wantCalls []string
	}{
		{"a failed start is returned, for a retry", func() {}, true, []string{"start uid-1 on " + node.Name}},
		{"the retry starts it", func() { sb.startErr = nil }, false, []string{"start uid-1 on " + node.Name}},
		{"a started pod gets its spec again, for changes such as activeDeadlineSeconds", func() {}, false, []string{"start uid-1 on " + node.Name}},
		{"a new pod of the same name, on its own node at the same IP, replaces the old sandbox", func() {
			_ = a.pods.GetIndexer().Update(second)
			_ = a.nodes.GetIndexer().Update(testNode(second, "10.42.1.5", testHost))
		}, false, []string{"stop uid-1", "start uid-2 on " + node.Name}},
		{"a pod object that vanished is stopped", func() { _ = a.pods.GetIndexer().Delete(second) }, false, []string{"stop uid-2"}},
		{"and only once", func() {}, false, nil},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change()
			sb.calls = nil
			if err := a.syncPod(ctx, "game/web"); (err != nil) != step.wantErr {
				t.Fatalf("err %v, want error: %v", err, step.wantErr)
			}
			if !reflect.DeepEqual(sb.calls, step.wantCalls) {
				t.Errorf("calls %v, want %v", sb.calls, step.wantCalls)
			}
		})
	}
}
