package podrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	kfake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sandbox/fake"
	"github.com/fargo-dev/fargo/internal/sizing"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// The first status a pod gets is its sandbox's to post: in one write with
// its containers running when the start is quick, as a kubelet's status
// manager writes only the latest status; before a step that takes a while
// (an image pull, a set-up to try again), a Pending one with the pod's IP
// and start time, so that the pod shows them meanwhile.

func TestQuickStartPostsOneStatus(t *testing.T) {
	for _, policy := range []corev1.PullPolicy{corev1.PullIfNotPresent, corev1.PullAlways} {
		t.Run(string(policy), func(t *testing.T) {
			// PullAlways with the image here: the pull checks a digest.
			pod := appPod(corev1.RestartPolicyAlways)
			pod.Spec.Containers[0].ImagePullPolicy = policy
			cs, a := startOnAgent(t, pod, fakeImages{}, &fakeNetwork{})
			first := waitForStatus(t, cs, func(st corev1.PodStatus) bool { return st.Phase == corev1.PodRunning })[0]
			if first.Phase != corev1.PodRunning || first.PodIP != podIP.String() || first.StartTime == nil {
				t.Errorf("first status: phase %s, IP %q, start time %v; want Running at once, with the IP and a start time", first.Phase, first.PodIP, first.StartTime)
			}
			if !hasCondition(first, corev1.PodReadyToStartContainers, corev1.ConditionTrue) {
				t.Errorf("first status conditions %+v, want PodReadyToStartContainers True", first.Conditions)
			}
			// Two more rounds of the worker: the status the server
			// returned (times in whole seconds) is no reason to post again.
			rt := a.cfg.Runtime.(*recordingRuntime)
			rounds := rt.rounds.Load()
			testwait.Eventually(t, 10*time.Second, "two more rounds", func(context.Context) error {
				if n := rt.rounds.Load(); n < rounds+2 {
					return fmt.Errorf("%d rounds", n-rounds)
				}
				return nil
			})
			if n := len(postedStatuses(t, cs.Actions())); n != 1 {
				t.Errorf("%d statuses posted for a pod that started and stays up, want 1", n)
			}
		})
	}
}

func TestPendingStatusBeforeAPull(t *testing.T) {
	tests := []struct {
		name        string
		pod         *corev1.Pod
		wantWaiting string
		initialized corev1.ConditionStatus
	}{
		{"containers are being created", appPod(corev1.RestartPolicyAlways), "ContainerCreating", corev1.ConditionTrue},
		{"init containers come first", withInit(appPod(corev1.RestartPolicyAlways)), "PodInitializing", corev1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := newSlowImages()
			cs, _ := startOnAgent(t, tt.pod, images, &fakeNetwork{})
			first := waitForStatus(t, cs, func(corev1.PodStatus) bool { return true })[0]
			assertPending(t, first, tt.wantWaiting)
			if !hasCondition(first, corev1.PodInitialized, tt.initialized) || !hasCondition(first, corev1.PodReadyToStartContainers, corev1.ConditionTrue) {
				t.Errorf("conditions %+v, want Initialized %s and PodReadyToStartContainers True (the sandbox is up)", first.Conditions, tt.initialized)
			}
			close(images.release)
			last := waitForStatus(t, cs, aContainerRuns)
			if got := last[len(last)-1].StartTime; got == nil || !got.Equal(first.StartTime) {
				t.Errorf("start time went from %v to %v, want it kept", first.StartTime, got)
			}
		})
	}
}

// TestPendingStatusBeforeTheSandbox: a set-up that failed and waits to be
// tried again, and a VM that boots, show the pod Pending with its IP
// before its sandbox is up.
func TestPendingStatusBeforeTheSandbox(t *testing.T) {
	vm := appPod(corev1.RestartPolicyAlways)
	vm.Annotations = map[string]string{v1.AnnotationSandboxTier: "microvm/qemu"}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		network *fakeNetwork
	}{
		{"a set-up to try again", appPod(corev1.RestartPolicyAlways), &fakeNetwork{failures: 1}},
		{"a microVM", vm, &fakeNetwork{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, _ := startOnAgent(t, tt.pod, fakeImages{}, tt.network)
			first := waitForStatus(t, cs, func(st corev1.PodStatus) bool { return st.Phase == corev1.PodRunning })[0]
			assertPending(t, first, "ContainerCreating")
			if !hasCondition(first, corev1.PodReadyToStartContainers, corev1.ConditionFalse) {
				t.Errorf("conditions %+v, want PodReadyToStartContainers False: the sandbox is not up", first.Conditions)
			}
		})
	}
}

// TestDownwardAPIBeforeTheFirstStatus: env from status.podIP and
// status.hostIP is the pod's address though no status says it yet.
func TestDownwardAPIBeforeTheFirstStatus(t *testing.T) {
	pod := appPod(corev1.RestartPolicyAlways)
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{fieldEnv("POD_IP", "status.podIP"), fieldEnv("HOST_IP", "status.hostIP")}
	cs, a := startOnAgent(t, pod, fakeImages{}, &fakeNetwork{})
	waitForStatus(t, cs, aContainerRuns)
	env := a.cfg.Runtime.(*recordingRuntime).envOf("app")
	for _, want := range []string{"POD_IP=" + podIP.String(), "HOST_IP=" + podIP.String()} {
		if !slices.Contains(env, want) {
			t.Errorf("env %q lacks %s", env, want)
		}
	}
}

func TestStartingCountsPodsUntilTheirStatusIsPosted(t *testing.T) {
	images := newSlowImages()
	_, a := startOnAgent(t, appPod(corev1.RestartPolicyAlways), images, &fakeNetwork{})
	if n := a.Starting(); n != 1 {
		t.Errorf("Starting() = %d while the image is pulled, want 1", n)
	}
	close(images.release)
	testwait.Eventually(t, 10*time.Second, "the pod's start over", func(context.Context) error {
		if n := a.Starting(); n != 0 {
			return fmt.Errorf("Starting() = %d", n)
		}
		return nil
	})
}

func assertPending(t *testing.T, st corev1.PodStatus, waiting string) {
	t.Helper()
	if st.Phase != corev1.PodPending || st.PodIP != podIP.String() || st.HostIP != podIP.String() || st.StartTime == nil {
		t.Errorf("phase %s, pod IP %q, host IP %q, start time %v; want Pending, the pod-node's IP and a start time", st.Phase, st.PodIP, st.HostIP, st.StartTime)
	}
	if !hasCondition(st, corev1.PodReady, corev1.ConditionFalse) || !hasCondition(st, corev1.PodScheduled, corev1.ConditionTrue) {
		t.Errorf("conditions %+v, want Ready False and PodScheduled True", st.Conditions)
	}
	for _, cst := range append(st.InitContainerStatuses, st.ContainerStatuses...) {
		if cst.State.Waiting == nil || cst.State.Waiting.Reason != waiting || cst.Image == "" {
			t.Errorf("container %s state %+v, want waiting %s", cst.Name, cst.State, waiting)
		}
		if cst.Started == nil || *cst.Started {
			t.Errorf("container %s started %v, want false, as a kubelet says", cst.Name, cst.Started)
		}
	}
}

// aContainerRuns: the pod's first container (an init container, if it
// has one) started.
func aContainerRuns(st corev1.PodStatus) bool {
	for _, cst := range append(st.InitContainerStatuses, st.ContainerStatuses...) {
		if cst.State.Running != nil {
			return true
		}
	}
	return false
}

func hasCondition(st corev1.PodStatus, typ corev1.PodConditionType, want corev1.ConditionStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status == want
		}
	}
	return false
}

func withInit(pod *corev1.Pod) *corev1.Pod {
	pod.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "one"}}
	return pod
}

var podIP = netip.MustParseAddr("10.42.1.5")

// startOnAgent starts pod on an Agent over fakes (API, runtime, network,
// volumes), on its pod-node, and stops it at the test's end.
func startOnAgent(t *testing.T, pod *corev1.Pod, images Images, network Network) (*kfake.Clientset, *Agent) {
	t.Helper()
	cs := kfake.NewClientset(pod)
	a, err := New(Config{Client: cs, Runtime: &recordingRuntime{Runtime: fake.New(), env: map[string][]string{}}, Images: images, Network: network, Volumes: noVolumes{},
		Env: noEnv{}, LogDir: t.TempDir(), LogIndex: t.TempDir() + "/index"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx)
	node := podnode.New(podnode.Spec{IP: podIP, Region: "us-east-1", Host: "h1", Pod: pod, Size: sizing.Size{MilliCPU: 250, MemoryMiB: 512}})
	if err := a.Start(ctx, pod, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer cancel()
		testwait.Eventually(t, 10*time.Second, "the pod stopped", func(ctx context.Context) error {
			if stopped, err := a.Stop(ctx, pod); err != nil || !stopped {
				return fmt.Errorf("stopped %v, err %v", stopped, err)
			}
			return nil
		})
	})
	return cs, a
}

// waitForStatus waits until a posted status satisfies done and returns
// every status posted until then, in order.
func waitForStatus(t *testing.T, cs *kfake.Clientset, done func(corev1.PodStatus) bool) []corev1.PodStatus {
	t.Helper()
	var posted []corev1.PodStatus
	testwait.Eventually(t, 10*time.Second, "a status", func(context.Context) error {
		posted = postedStatuses(t, cs.Actions())
		if len(posted) == 0 || !done(posted[len(posted)-1]) {
			return fmt.Errorf("statuses posted: %d", len(posted))
		}
		return nil
	})
	return posted
}

func postedStatuses(t *testing.T, actions []clienttesting.Action) []corev1.PodStatus {
	var out []corev1.PodStatus
	for _, a := range actions {
		p, ok := a.(clienttesting.PatchAction)
		if !ok || a.GetResource().Resource != "pods" || a.GetSubresource() != "status" {
			continue
		}
		var body struct{ Status corev1.PodStatus }
		if err := json.Unmarshal(p.GetPatch(), &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, body.Status)
	}
	return out
}

// recordingRuntime counts the worker's rounds (each lists the
// containers) and keeps the environment of the containers started.
type recordingRuntime struct {
	*fake.Runtime
	rounds atomic.Int64
	mu     sync.Mutex
	env    map[string][]string // by container name
}

func (r *recordingRuntime) StartContainer(ctx context.Context, uid string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	r.mu.Lock()
	r.env[cfg.Name] = cfg.Env
	r.mu.Unlock()
	return r.Runtime.StartContainer(ctx, uid, cfg)
}

func (r *recordingRuntime) envOf(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.env[name]
}

func (r *recordingRuntime) Containers(ctx context.Context, uid string) ([]sandbox.ContainerStatus, error) {
	r.rounds.Add(1)
	return r.Runtime.Containers(ctx, uid)
}

// fakeNetwork attaches every pod, after failing the first failures times.
type fakeNetwork struct {
	mu       sync.Mutex
	failures int
}

func (n *fakeNetwork) Attach(_ context.Context, uid string, _ netip.Addr) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failures > 0 {
		n.failures--
		return "", errors.New("netlink: device busy")
	}
	return "/run/netns/" + uid, nil
}
func (n *fakeNetwork) Detach(context.Context, string) error { return nil }
func (n *fakeNetwork) Attached() ([]string, error)          { return nil, nil }

// noVolumes makes no volumes.
type noVolumes struct{}

func (noVolumes) Setup(context.Context, *corev1.Pod, int64, int64) (map[string]string, error) {
	return map[string]string{}, nil
}
func (noVolumes) Refresh(context.Context, *corev1.Pod, int64, int64) error { return nil }
func (noVolumes) Teardown(string) error                                    { return nil }

// slowImages has no image until pulled, and a pull ends when release is
// closed.
type slowImages struct {
	release chan struct{}
	mu      sync.Mutex
	pulled  bool
}

func newSlowImages() *slowImages { return &slowImages{release: make(chan struct{})} }

func (i *slowImages) Get(ref string) (*image.Image, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.pulled {
		return nil, image.ErrNotFound
	}
	return fakeImages{}.Get(ref)
}

func (i *slowImages) Pull(ctx context.Context, ref string, _ authn.Keychain) (*image.Image, error) {
	select {
	case <-i.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	i.mu.Lock()
	i.pulled = true
	i.mu.Unlock()
	return fakeImages{}.Get(ref)
}
