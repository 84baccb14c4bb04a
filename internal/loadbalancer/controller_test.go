package loadbalancer

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/testwait"
)

const conflict2048 = "port 80/TCP on 10.0.0.5 is already used by Service default/game-2048"

// TestHostMode: Ready hosts' addresses go to the older of two port-80
// Services, the other waits with an event naming it and gets the addresses
// once the first is deleted; hosts coming, going and changing readiness
// change the status.
func TestHostMode(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Host{host("h1", "10.0.0.5", true), host("h2", "10.0.0.6", true), host("h3", "10.0.0.7", false)},
		lbService("game-2048", generation(1)), lbService("game-2049", generation(1), age(time.Minute)))
	e.waitIngress("game-2048", "10.0.0.5", "10.0.0.6")
	e.waitEvent("game-2048", ReasonIPAllocated, "assigned 10.0.0.5, 10.0.0.6")
	e.waitEvent("game-2049", ReasonAllocationFailed, conflict2048)
	e.waitIngress("game-2049")

	e.delete("game-2048")
	e.waitIngress("game-2049", "10.0.0.5", "10.0.0.6")
	e.waitEvent("game-2049", ReasonIPAllocated, "assigned 10.0.0.5, 10.0.0.6")

	h3, err := e.hosts.Get(e.ctx, "h3")
	if err != nil {
		t.Fatal(err)
	}
	h3.Status.Conditions[0].Status = metav1.ConditionTrue
	if _, err := e.hosts.UpdateStatus(e.ctx, h3); err != nil {
		t.Fatal(err)
	}
	e.waitIngress("game-2049", "10.0.0.5", "10.0.0.6", "10.0.0.7")
	if err := e.hosts.Delete(e.ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	e.waitIngress("game-2049", "10.0.0.6", "10.0.0.7")
}

// TestReservedPort: 6443 on host addresses is refused until the Service
// moves to another port.
func TestReservedPort(t *testing.T) {
	e := newEnv(t, Config{ReservedPorts: []ReservedPort{apiserver}}, []*v1.Host{host("h1", "10.0.0.5", true)},
		lbService("api", generation(1), ports(tcp(6443))))
	e.waitEvent("api", ReasonAllocationFailed, "port 6443/TCP is used by kube-apiserver on the hosts; choose another port")
	e.pass()
	e.waitIngress("api")

	e.change("api", func(s *corev1.Service) { s.Spec.Ports[0].Port = 8443 })
	e.waitIngress("api", "10.0.0.5")
}

// TestPoolMode: two port-80 Services get different pool addresses, one
// that asks for an address gets it, and none gets a host's address.
func TestPoolMode(t *testing.T) {
	e := newEnv(t, Config{AddressPool: prefixes("192.0.2.0/29"), ReservedPorts: []ReservedPort{apiserver}},
		[]*v1.Host{host("h1", "10.0.0.5", true)},
		lbService("game-2048", generation(1)), lbService("game-2049", generation(1), age(time.Minute)),
		lbService("pinned", generation(1), asking("192.0.2.5")), lbService("api", generation(1), ports(tcp(6443))))
	e.waitIngress("game-2048", "192.0.2.1")
	e.waitIngress("game-2049", "192.0.2.2")
	e.waitIngress("pinned", "192.0.2.5")
	e.waitIngress("api", "192.0.2.1")
	e.waitEvent("pinned", ReasonIPAllocated, "assigned 192.0.2.5")

	e.change("pinned", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "203.0.113.7" })
	e.waitEvent("pinned", ReasonAllocationFailed,
		"loadBalancerIP 203.0.113.7 is not in the address pool 192.0.2.0/29; choose one in the pool or unset it")
	e.waitIngress("pinned")
}

// TestPoolExhausted: with one address, the second port-80 Service waits
// until the first is gone.
func TestPoolExhausted(t *testing.T) {
	e := newEnv(t, Config{AddressPool: prefixes("192.0.2.9/32")}, nil,
		lbService("first", generation(1)), lbService("second", generation(1), age(time.Minute)))
	e.waitIngress("first", "192.0.2.9")
	e.waitEvent("second", ReasonAllocationFailed,
		"no address of the pool 192.0.2.9/32 is free for 80/TCP; the Service stays pending until one is")

	e.delete("first")
	e.waitIngress("second", "192.0.2.9")
}

// TestNodePortWarnedOnce: one event per generation, however many passes.
func TestNodePortWarnedOnce(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Host{host("h1", "10.0.0.5", true)},
		lbService("np", generation(1), typed(corev1.ServiceTypeNodePort)))
	e.waitEvent("np", ReasonNodePortNotSupported, MessageNodePort)

	e.create(lbService("later", generation(1)))
	e.waitIngress("later", "10.0.0.5")
	e.pass()
	e.pass()
	if n := e.spy.count("np", ReasonNodePortNotSupported); n != 1 {
		t.Errorf("%d NodePortNotSupported events after 3 passes, want 1: %q", n, e.spy.of("np"))
	}

	e.change("np", func(s *corev1.Service) { s.Spec.Ports[0].Port = 81 })
	testwait.Eventually(t, waitTimeout, "a second event for generation 2", func(context.Context) error {
		if n := e.spy.count("np", ReasonNodePortNotSupported); n != 2 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
}

// TestOtherClassIgnored: a Service of another class keeps the status its
// controller wrote and gets no event.
func TestOtherClassIgnored(t *testing.T) {
	theirs := lbService("theirs", generation(1), class("example.com/lb"), holding("10.0.0.5"))
	e := newEnv(t, Config{}, []*v1.Host{host("h1", "10.0.0.5", true)}, theirs, lbService("mine", generation(1), ports(tcp(81))))
	e.waitIngress("mine", "10.0.0.5")
	e.pass()
	e.waitIngress("theirs", "10.0.0.5")
	if ev := e.spy.of("theirs"); len(ev) > 0 {
		t.Errorf("events on another class's Service: %q", ev)
	}
	for _, a := range e.cs.Actions() {
		if u, ok := a.(interface{ GetSubresource() string }); ok && a.GetVerb() == "update" && u.GetSubresource() == "status" {
			if s := a.(interface{ GetObject() runtime.Object }).GetObject().(*corev1.Service); s.Name == "theirs" {
				t.Errorf("status of %s written: %v", s.Name, s.Status.LoadBalancer.Ingress)
			}
		}
	}
}

// TestTypeChangeClearsStatus: a Service that stops being a LoadBalancer
// loses the addresses; its port goes to the Service that waited for it.
func TestTypeChangeClearsStatus(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Host{host("h1", "10.0.0.5", true)},
		lbService("game-2048", generation(1)), lbService("game-2049", generation(1), age(time.Minute)))
	e.waitIngress("game-2048", "10.0.0.5")
	e.waitEvent("game-2049", ReasonAllocationFailed, conflict2048)

	e.change("game-2048", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP })
	e.waitIngress("game-2048")
	e.waitIngress("game-2049", "10.0.0.5")
}

// TestRun goes through Run: the events reach the apiserver as
// fargo-loadbalancer's, and a bad pool is refused.
func TestRun(t *testing.T) {
	u, err := hostclient.ToUnstructured(host("h1", "10.0.0.5", true))
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{hostclient.GVR: v1.HostListKind}, u)
	cs := fake.NewClientset(lbService("web", generation(1)))
	e := &env{t: t, cs: cs}
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Client: cs, Dynamic: dyn}) }()
	e.waitIngress("web", "10.0.0.5")
	e.waitEvent("web", ReasonIPAllocated, "assigned 10.0.0.5")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after ctx ended, want nil", err)
	}

	bad := Config{Client: cs, Dynamic: dyn, AddressPool: []netip.Prefix{{}}}
	if err := Run(context.Background(), bad); err == nil {
		t.Error("Run accepted an invalid pool prefix")
	}
	bad = Config{Client: cs, Dynamic: dyn, ReservedPorts: []ReservedPort{{Port: 70000, Name: "x"}}}
	if err := Run(context.Background(), bad); err == nil {
		t.Error("Run accepted port 70000")
	}
	if err := Run(context.Background(), Config{}); err == nil {
		t.Error("Run accepted a Config without clients")
	}
}
