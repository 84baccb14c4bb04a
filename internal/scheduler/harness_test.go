package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/testwait"
)

const (
	testRegion = "us-east-1"
	testNS     = "default"
	// waitTimeout is long for the fake apiserver: a loaded machine can
	// stall the scheduler's goroutines for seconds.
	waitTimeout = 30 * time.Second
)

var podsGVR = corev1.SchemeGroupVersion.WithResource("pods")

// env is a scheduler running against fake clients and real informers.
type env struct {
	t      *testing.T
	cs     *fake.Clientset
	hosts  *hostclient.Client
	s      *Scheduler
	events *eventLog
	now    time.Time
	cancel context.CancelFunc
	done   chan struct{}
	fences int // fence pods made so far
}

// newEnv starts a scheduler over objs (pods, nodes, leases) and hosts; the
// fake apiserver binds like the real one (Conflict when already bound).
func newEnv(t *testing.T, hosts []*v1.Host, objs ...runtime.Object) *env {
	t.Helper()
	return startEnv(t, 0, hosts, objs...)
}

// newSerialEnv is newEnv with one worker for API calls and one for
// cleanup, so that work is done in the order it was handed out: what
// fence and deleteFence need.
func newSerialEnv(t *testing.T, hosts []*v1.Host, objs ...runtime.Object) *env {
	t.Helper()
	return startEnv(t, 1, hosts, objs...)
}

// startEnv starts the scheduler with workers workers (0: its default).
func startEnv(t *testing.T, workers int, hosts []*v1.Host, objs ...runtime.Object) *env {
	t.Helper()
	return startEnvWith(t, workers, nil, hosts, objs...)
}

// startEnvWith is startEnv with the scheduler's Config changed by with.
func startEnvWith(t *testing.T, workers int, with func(*Config), hosts []*v1.Host, objs ...runtime.Object) *env {
	t.Helper()
	e := &env{t: t, cs: fake.NewClientset(objs...), now: time.Now(), events: &eventLog{}}
	e.cs.PrependReactor("create", "pods", e.bindReactor)
	var hostObjs []runtime.Object
	for _, h := range hosts {
		u, err := hostclient.ToUnstructured(h)
		if err != nil {
			t.Fatal(err)
		}
		hostObjs = append(hostObjs, u)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{hostclient.GVR: "HostList"}, hostObjs...)
	e.hosts = hostclient.New(dyn)

	factory := informers.NewSharedInformerFactory(e.cs, 0)
	leases := informers.NewSharedInformerFactoryWithOptions(e.cs, 0, informers.WithNamespace(v1.SystemNamespace))
	hostInf := hostclient.NewInformer(dyn, 0)
	cfg := Config{Client: e.cs, Region: testRegion, Now: func() time.Time { return e.now },
		Logging: func() awslogging.Decision { return awslogging.Decision{} }}
	if with != nil {
		with(&cfg)
	}
	e.s = New(cfg)
	e.s.queue.base, e.s.queue.max = 20*time.Millisecond, 200*time.Millisecond
	e.s.recorder = e.events
	if workers > 0 {
		e.s.workers = workers
	}
	if err := e.s.Register(factory.Core().V1().Pods().Informer(), factory.Core().V1().Nodes().Informer(),
		hostInf, leases.Coordination().V1().Leases().Informer()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	factory.Start(ctx.Done())
	leases.Start(ctx.Done())
	go hostInf.Run(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	leases.WaitForCacheSync(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), hostInf.HasSynced)
	go func() {
		defer close(e.done)
		if err := e.s.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-e.done })
	return e
}

// bindReactor serves pods/binding as the apiserver does.
func (e *env) bindReactor(a k8stesting.Action) (bool, runtime.Object, error) {
	if a.GetSubresource() != "binding" {
		return false, nil, nil
	}
	b := a.(k8stesting.CreateAction).GetObject().(*corev1.Binding)
	obj, err := e.cs.Tracker().Get(podsGVR, b.Namespace, b.Name)
	if err != nil {
		return true, nil, err
	}
	pod := obj.(*corev1.Pod).DeepCopy()
	if pod.Spec.NodeName != "" {
		return true, nil, apierrors.NewConflict(corev1.Resource("pods/binding"), b.Name, fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
	}
	pod.Spec.NodeName = b.Target.Name
	for k, v := range b.Annotations { // as the apiserver's binding storage does
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[k] = v
	}
	return true, nil, e.cs.Tracker().Update(podsGVR, pod, pod.Namespace)
}

// eventLog is the scheduler's event recorder in tests: it keeps every
// event with the pod it is about, in the order the scheduler recorded
// them.
type eventLog struct {
	mu  sync.Mutex
	all []loggedEvent
}

// loggedEvent is one event: its object's namespace/name and its
// "Type Reason Message".
type loggedEvent struct{ object, text string }

func (l *eventLog) Event(obj runtime.Object, eventType, reason, message string) {
	object := "?"
	if m, err := meta.Accessor(obj); err == nil {
		object = m.GetNamespace() + "/" + m.GetName()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, loggedEvent{object, eventType + " " + reason + " " + message})
}

func (l *eventLog) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	l.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, format string, args ...any) {
	l.Eventf(obj, eventType, reason, format, args...)
}

// count returns how many events equal want ("Type Reason Message").
func (l *eventLog) count(want string) int { return l.countOn("", want) }

// countOn returns how many events about pod name (any pod if "") equal want.
func (l *eventLog) countOn(name, want string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.all {
		if ev.text == want && (name == "" || ev.object == testNS+"/"+name) {
			n++
		}
	}
	return n
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.all {
		fmt.Fprintf(&b, "%s: %s\n", ev.object, ev.text)
	}
	return b.String()
}

// boundNode waits for pod name to be bound and returns its node.
func (e *env) boundNode(name string) *corev1.Node {
	e.t.Helper()
	var node string
	testwait.Eventually(e.t, waitTimeout, "pod "+name+" bound", func(context.Context) error {
		pod, err := e.cs.CoreV1().Pods(testNS).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if node = pod.Spec.NodeName; node == "" {
			return fmt.Errorf("not bound")
		}
		return nil
	})
	n, err := e.cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("node of %s: %v", name, err)
	}
	return n
}

func (e *env) createPod(p *corev1.Pod) {
	e.t.Helper()
	if _, err := e.cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) nodeCount() int {
	e.t.Helper()
	nodes, err := e.cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(nodes.Items)
}

func testHost(name, zone, cpu, mem string, cidrs ...string) *v1.Host {
	return &v1.Host{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.HostSpec{Zone: zone, PodCIDRs: cidrs, Tiers: []string{"oci/runc"},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}},
		Status: v1.HostStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.36.3-fargo"}},
	}
}

func hostLease(host string, renew time.Time) *coordinationv1.Lease {
	t := metav1.NewMicroTime(renew)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: v1.HostLeaseName(host), Namespace: v1.SystemNamespace},
		Spec:       coordinationv1.LeaseSpec{RenewTime: &t},
	}
}

// testPod is a Fargate pod of size 0.25vCPU 0.5GB unless changed by opts.
func testPod(name string, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.Now(),
			Annotations:       map[string]string{profile.AnnotationCapacityProvisioned: "0.25vCPU 0.5GB"},
			Labels:            map[string]string{profile.LabelFargateProfile: "default"}},
		Spec: corev1.PodSpec{SchedulerName: podnode.SchedulerName, Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withAnnotation(k, v string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Annotations[k] = v }
}

func withOwner(uid string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: types.UID(uid), Controller: &yes}}
	}
}
