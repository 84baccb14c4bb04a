package loadbalancer

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func generation(g int64) svcOpt { return func(s *corev1.Service) { s.Generation = g } }

func uid(u types.UID) svcOpt { return func(s *corev1.Service) { s.UID = u } }

func warning(reason, msg string) event { return event{corev1.EventTypeWarning, reason, msg} }

func TestPlan(t *testing.T) {
	conflict := pending("port 80/TCP on 10.0.0.5 is already used by Service default/a")
	assigned := event{corev1.EventTypeNormal, ReasonIPAllocated, "assigned 10.0.0.5, 10.0.0.6"}
	for _, tc := range []struct {
		name        string
		svc         *corev1.Service
		out         Outcome
		before      memory
		wantIngress []corev1.LoadBalancerIngress
		wantEvents  []event
		wantNext    memory
	}{{
		name:        "addresses given: VIP ingress and one event",
		svc:         lbService("web", uid("u1")),
		out:         got("10.0.0.5", "10.0.0.6"),
		wantIngress: ingressOf(addrs("10.0.0.5", "10.0.0.6")),
		wantEvents:  []event{assigned},
		wantNext:    memory{uid: "u1", ips: []string{"10.0.0.5", "10.0.0.6"}, said: ReasonIPAllocated + "\nassigned 10.0.0.5, 10.0.0.6"},
	}, {
		name:        "the same outcome again: no event",
		svc:         lbService("web", uid("u1"), holding("10.0.0.5", "10.0.0.6")),
		out:         got("10.0.0.5", "10.0.0.6"),
		before:      memory{uid: "u1", said: ReasonIPAllocated + "\nassigned 10.0.0.5, 10.0.0.6"},
		wantIngress: ingressOf(addrs("10.0.0.5", "10.0.0.6")),
		wantNext:    memory{uid: "u1", ips: []string{"10.0.0.5", "10.0.0.6"}, said: ReasonIPAllocated + "\nassigned 10.0.0.5, 10.0.0.6"},
	}, {
		name:       "pending: no ingress, a warning",
		svc:        lbService("b", holding("10.0.0.5")),
		out:        conflict,
		wantEvents: []event{warning(ReasonAllocationFailed, conflict.Problem)},
		wantNext:   memory{said: ReasonAllocationFailed + "\n" + conflict.Problem},
	}, {
		name:     "still pending for the same reason: no event",
		svc:      lbService("b"),
		out:      conflict,
		before:   memory{said: ReasonAllocationFailed + "\n" + conflict.Problem},
		wantNext: memory{said: ReasonAllocationFailed + "\n" + conflict.Problem},
	}, {
		name:        "a Service created again under the same name is told again",
		svc:         lbService("web", uid("u2"), holding("10.0.0.5", "10.0.0.6")),
		out:         got("10.0.0.5", "10.0.0.6"),
		before:      memory{uid: "u1", said: ReasonIPAllocated + "\nassigned 10.0.0.5, 10.0.0.6"},
		wantIngress: ingressOf(addrs("10.0.0.5", "10.0.0.6")),
		wantEvents:  []event{assigned},
		wantNext:    memory{uid: "u2", ips: []string{"10.0.0.5", "10.0.0.6"}, said: ReasonIPAllocated + "\nassigned 10.0.0.5, 10.0.0.6"},
	}, {
		name:       "NodePort: a warning",
		svc:        lbService("np", typed(corev1.ServiceTypeNodePort), generation(3)),
		wantEvents: []event{warning(ReasonNodePortNotSupported, MessageNodePort)},
		wantNext:   memory{nodePortGen: 3, nodePortSaid: true},
	}, {
		name:     "NodePort, same generation: nothing",
		svc:      lbService("np", typed(corev1.ServiceTypeNodePort), generation(3)),
		before:   memory{nodePortGen: 3, nodePortSaid: true},
		wantNext: memory{nodePortGen: 3, nodePortSaid: true},
	}, {
		name:       "NodePort, new generation: warned again",
		svc:        lbService("np", typed(corev1.ServiceTypeNodePort), generation(4)),
		before:     memory{nodePortGen: 3, nodePortSaid: true},
		wantEvents: []event{warning(ReasonNodePortNotSupported, MessageNodePort)},
		wantNext:   memory{nodePortGen: 4, nodePortSaid: true},
	}, {
		name:   "no longer LoadBalancer: ingress cleared",
		svc:    lbService("web", typed(corev1.ServiceTypeClusterIP), holding("10.0.0.5")),
		before: memory{ips: []string{"10.0.0.5"}, said: "x"},
	}, {
		name:        "another class: only what this controller set goes",
		svc:         lbService("web", class("example.com/lb"), holding("10.0.0.5", "192.0.2.1")),
		before:      memory{ips: []string{"10.0.0.5"}, said: "x"},
		wantIngress: ingressOf(addrs("192.0.2.1")),
	}, {
		name:        "another class never served here: left alone",
		svc:         lbService("web", class("example.com/lb"), holding("10.0.0.5")),
		wantIngress: ingressOf(addrs("10.0.0.5")),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := plan(tc.svc, tc.out, tc.before)
			if !reflect.DeepEqual(s.ingress, tc.wantIngress) {
				t.Errorf("ingress = %v, want %v", s.ingress, tc.wantIngress)
			}
			if !reflect.DeepEqual(s.events, tc.wantEvents) {
				t.Errorf("events = %v, want %v", s.events, tc.wantEvents)
			}
			if !reflect.DeepEqual(s.next, tc.wantNext) {
				t.Errorf("next = %+v, want %+v", s.next, tc.wantNext)
			}
		})
	}
}

func TestSameIngress(t *testing.T) {
	vip := ingressOf(addrs("10.0.0.5"))
	noMode := []corev1.LoadBalancerIngress{{IP: "10.0.0.5"}}
	for _, tc := range []struct {
		a, b []corev1.LoadBalancerIngress
		want bool
	}{
		{nil, []corev1.LoadBalancerIngress{}, true},
		{vip, ingressOf(addrs("10.0.0.5")), true},
		{vip, noMode, false},
		{vip, nil, false},
		{ingressOf(addrs("10.0.0.5", "10.0.0.6")), ingressOf(addrs("10.0.0.6", "10.0.0.5")), false},
	} {
		if got := sameIngress(tc.a, tc.b); got != tc.want {
			t.Errorf("sameIngress(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
