package loadbalancer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// waitTimeout is long for fake clients: a loaded machine can stall the
// controller's goroutines for seconds.
const waitTimeout = 30 * time.Second

var servicesGVR = corev1.SchemeGroupVersion.WithResource("services")

// env is a controller running against fake clients and real informers.
type env struct {
	t     *testing.T
	ctx   context.Context
	cs    *fake.Clientset
	hosts *hostclient.Client
	c     *controller
	spy   *spy
}

// newEnv starts a controller with cfg's pool and reserved ports over hosts
// and svcs.
func newEnv(t *testing.T, cfg Config, hosts []*v1.Host, svcs ...*corev1.Service) *env {
	t.Helper()
	var objs []runtime.Object
	for _, s := range svcs {
		objs = append(objs, s)
	}
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("update", "services", serviceUpdates(cs))
	var hostObjs []runtime.Object
	for _, h := range hosts {
		u, err := hostclient.ToUnstructured(h)
		if err != nil {
			t.Fatal(err)
		}
		hostObjs = append(hostObjs, u)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{hostclient.GVR: v1.HostListKind}, hostObjs...)

	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	t.Cleanup(b.Shutdown)
	e := &env{t: t, cs: cs, hosts: hostclient.New(dyn),
		spy: &spy{next: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component})}}
	cfg.Client, cfg.Dynamic = cs, dyn
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	c, err := newController(cfg, e.spy)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return e
}

// serviceUpdates makes the fake apiserver treat Services as the real one
// does: an update keeps the stored status and bumps the generation on a
// spec change; a status update changes only the status. Without it a
// status write from a stale copy would undo a test's spec change.
func serviceUpdates(cs *fake.Clientset) k8stesting.ReactionFunc {
	return func(a k8stesting.Action) (bool, runtime.Object, error) {
		upd := a.(k8stesting.UpdateAction)
		in := upd.GetObject().(*corev1.Service).DeepCopy()
		obj, err := cs.Tracker().Get(servicesGVR, in.Namespace, in.Name)
		if err != nil {
			return true, nil, err
		}
		stored := obj.(*corev1.Service)
		out := in
		if upd.GetSubresource() == "status" {
			out = stored.DeepCopy()
			out.Status = in.Status
		} else {
			out.Status, out.Generation = stored.Status, stored.Generation
			if !apiequality.Semantic.DeepEqual(in.Spec, stored.Spec) {
				out.Generation++
			}
		}
		return true, out, cs.Tracker().Update(servicesGVR, out, in.Namespace)
	}
}

// host is a Host at addr, Ready or not.
func host(name, addr string, ready bool) *v1.Host {
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	return &v1.Host{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.HostSpec{Address: addr, Zone: "us-east-1a", PodCIDRs: []string{"10.42.1.0/24"}},
		Status: v1.HostStatus{Conditions: []metav1.Condition{{
			Type: v1.HostReady, Status: status, Reason: v1.HostReasonHeartbeat, LastTransitionTime: metav1.NewTime(t0),
		}}},
	}
}

// waitIngress waits for Service default/name to have exactly ips, each
// with ipMode VIP; no ips means pending.
func (e *env) waitIngress(name string, ips ...string) {
	e.t.Helper()
	want := ingressOf(addrs(ips...))
	testwait.Eventually(e.t, waitTimeout, fmt.Sprintf("ingress of %s to be %v", name, ips), func(context.Context) error {
		s, err := e.cs.CoreV1().Services("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if have := s.Status.LoadBalancer.Ingress; !sameIngress(want, have) {
			return fmt.Errorf("have %v", have)
		}
		return nil
	})
}

// waitEvent waits for the apiserver to hold an Event of this controller on
// Service default/name with reason and message.
func (e *env) waitEvent(name, reason, message string) {
	e.t.Helper()
	testwait.Eventually(e.t, waitTimeout, fmt.Sprintf("event %s %q on %s", reason, message, name), func(context.Context) error {
		l, err := e.cs.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range l.Items {
			if ev.InvolvedObject.Name == name && ev.Reason == reason && ev.Message == message && ev.Source.Component == Component {
				return nil
			}
			seen = append(seen, ev.InvolvedObject.Name+" "+ev.Reason+": "+ev.Message)
		}
		return fmt.Errorf("events: %q", seen)
	})
}

// pass waits for an allocation pass that starts after the call to finish.
func (e *env) pass() {
	e.t.Helper()
	n := e.c.started.Load()
	e.c.loop.Add(allKey)
	testwait.Eventually(e.t, waitTimeout, "an allocation pass", func(context.Context) error {
		if e.c.passes.Load() <= n {
			return fmt.Errorf("%d passes", e.c.passes.Load())
		}
		return nil
	})
}

func (e *env) create(s *corev1.Service) {
	e.t.Helper()
	if _, err := e.cs.CoreV1().Services(s.Namespace).Create(e.ctx, s, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) delete(name string) {
	e.t.Helper()
	if err := e.cs.CoreV1().Services("default").Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// change updates the spec of Service default/name with change.
func (e *env) change(name string, change func(*corev1.Service)) {
	e.t.Helper()
	s, err := e.cs.CoreV1().Services("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	change(s)
	if _, err := e.cs.CoreV1().Services("default").Update(e.ctx, s, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// spy counts the events recorded, as they are recorded, and passes them on.
type spy struct {
	next record.EventRecorder
	mu   sync.Mutex
	seen []string // "namespace/name reason: message"
}

func (s *spy) Event(obj runtime.Object, kind, reason, message string) {
	m, _ := obj.(metav1.Object)
	s.mu.Lock()
	s.seen = append(s.seen, m.GetNamespace()+"/"+m.GetName()+" "+reason+": "+message)
	s.mu.Unlock()
	s.next.Event(obj, kind, reason, message)
}

func (s *spy) Eventf(obj runtime.Object, kind, reason, format string, args ...any) {
	s.Event(obj, kind, reason, fmt.Sprintf(format, args...))
}

func (s *spy) AnnotatedEventf(obj runtime.Object, _ map[string]string, kind, reason, format string, args ...any) {
	s.Event(obj, kind, reason, fmt.Sprintf(format, args...))
}

// count is how many events on Service default/name had reason.
func (s *spy) count(name, reason string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(s.seen), func(e string) bool {
		return !strings.HasPrefix(e, "default/"+name+" "+reason+":")
	}))
}

// of are the events recorded on Service default/name.
func (s *spy) of(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(s.seen), func(e string) bool { return !strings.HasPrefix(e, "default/"+name+" ") })
}
