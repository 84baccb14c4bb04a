package hostregistration

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
)

const testHost = "h1"

// t0 has whole seconds: metav1.Time keeps no more through JSON.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

var testNodeInfo = corev1.NodeSystemInfo{
	KubeletVersion: "v1.36.3-fargo", ContainerRuntimeVersion: "runc://1.1.5",
	OperatingSystem: "linux", Architecture: "amd64", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12 (bookworm)",
}

// testTierStatus is how the test host's tiers run.
var testTierStatus = []v1.HostTierStatus{
	{Name: TierQEMU, ContainerRuntimeVersion: "qemu://7.2.22+tcg", VMAccel: "tcg"},
	{Name: "oci/runc", ContainerRuntimeVersion: "runc://1.1.5"},
}

var testSpec = v1.HostSpec{
	Zone:        "us-east-1a",
	Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("12Gi")},
	PodCIDRs:    []string{"10.42.1.0/24"},
	Tiers:       []string{TierRunc},
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newHosts returns a fake dynamic client serving Hosts, and a hostclient on it.
func newHosts(t *testing.T, hosts ...*v1.Host) (*dynamicfake.FakeDynamicClient, *hostclient.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, 0, len(hosts))
	for _, h := range hosts {
		u, err := hostclient.ToUnstructured(h)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{hostclient.GVR: v1.HostListKind}, objs...)
	return dyn, hostclient.New(dyn)
}

// testConfig is a Config on fake clients holding objs.
func testConfig(t *testing.T, clk *clock, objs ...runtime.Object) (Config, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	_, hosts := newHosts(t)
	cfg, err := Config{Client: cs, Hosts: hosts, Name: testHost, Spec: testSpec, NodeInfo: testNodeInfo,
		TierStatus: testTierStatus, Now: clk.Now, Log: testr.New(t)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs
}

// newTestAgent returns an agent whose informer stores hold objs, without
// running informers or workers: tests call its sync functions themselves.
// The clientset's recorded actions start empty.
func newTestAgent(t *testing.T, clk *clock, sandboxes Sandboxes, objs ...runtime.Object) (*agent, *fake.Clientset) {
	t.Helper()
	cfg, cs := testConfig(t, clk, objs...)
	cfg.Sandboxes = sandboxes
	a := newAgent(cfg)
	for _, obj := range objs {
		var err error
		switch o := obj.(type) {
		case *corev1.Node:
			err = a.nodes.GetIndexer().Add(o)
		case *corev1.Pod:
			err = a.pods.GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cs.ClearActions()
	return a, cs
}

// testPod is a Fargate pod; bound to the node of ip when ip is set.
func testPod(name, uid, ip string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "game", Name: name, UID: types.UID(uid)},
		Spec: corev1.PodSpec{
			SchedulerName: podnode.SchedulerName,
			Containers:    []corev1.Container{{Name: "app", Image: "nginx"}, {Name: "sidecar", Image: "busybox"}},
		},
	}
	if ip != "" {
		p.Spec.NodeName = podnode.Name(netip.MustParseAddr(ip), "us-east-1")
	}
	return p
}

// testNode is the pod-node of pod, with IP ip, on host, as the scheduler
// makes it at t0.
func testNode(pod *corev1.Pod, ip, host string) *corev1.Node {
	n := podnode.New(podnode.Spec{IP: netip.MustParseAddr(ip), Region: "us-east-1", Zone: "us-east-1a", Host: host,
		Pod: pod, Size: sizing.Size{MilliCPU: 250, MemoryMiB: 512}, NodeInfo: testNodeInfo, Now: t0})
	n.UID = types.UID("node-" + string(pod.UID))
	return n
}

// writes returns the recorded actions other than reads.
func writes(actions []clienttesting.Action) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a)
		}
	}
	return out
}
