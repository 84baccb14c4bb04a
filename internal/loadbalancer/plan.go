package loadbalancer

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
)

// Event reasons and the fixed message.
const (
	// ReasonAllocationFailed: a Service stays pending (Outcome.Problem).
	ReasonAllocationFailed = "AllocationFailed"
	// ReasonIPAllocated: a Service got, or changed, its addresses.
	ReasonIPAllocated = "IPAllocated"
	// ReasonNodePortNotSupported: a Service of type NodePort.
	ReasonNodePortNotSupported = "NodePortNotSupported"
	MessageNodePort            = "NodePort Services are not supported on Fargate: use type LoadBalancer or ClusterIP"
)

// memory is what the controller did last for one Service, so that a resync
// repeats no event and a Service leaving the controller loses only the
// addresses this controller gave it.
type memory struct {
	uid types.UID
	// ips are the ingress IPs this controller set.
	ips []string
	// said is the reason and message of the last outcome event.
	said string
	// nodePortGen is the generation a NodePort event was recorded for,
	// valid when nodePortSaid.
	nodePortGen  int64
	nodePortSaid bool
}

// event is one Event to record on a Service.
type event struct {
	kind, reason, message string
}

// step is what to do for one Service: make its status ingress ingress,
// then record events, then remember next.
type step struct {
	ingress []corev1.LoadBalancerIngress
	events  []event
	next    memory
}

// plan decides the step of svc from its outcome (meaningful when Manages
// svc) and what was done before.
func plan(svc *corev1.Service, out Outcome, m memory) step {
	if m.uid != svc.UID {
		m = memory{uid: svc.UID}
	}
	s := step{next: memory{uid: svc.UID, nodePortGen: m.nodePortGen, nodePortSaid: m.nodePortSaid}}
	switch {
	case Manages(svc):
		s.ingress = ingressOf(out.Addresses)
		s.next.ips = ipsOf(s.ingress)
		e := outcomeEvent(out)
		if s.next.said = e.reason + "\n" + e.message; s.next.said != m.said {
			s.events = append(s.events, e)
		}
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		// Another class: its controller owns the status, except what this
		// one set before the class changed.
		s.ingress = slices.DeleteFunc(slices.Clone(svc.Status.LoadBalancer.Ingress), func(ing corev1.LoadBalancerIngress) bool {
			return slices.Contains(m.ips, ing.IP)
		})
	default:
		// The apiserver refuses ingress outside type LoadBalancer and clears
		// it on a type change; one left over would keep kube-proxy's DNAT.
		s.ingress = nil
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort && !(m.nodePortSaid && m.nodePortGen == svc.Generation) {
		s.events = append(s.events, event{corev1.EventTypeWarning, ReasonNodePortNotSupported, MessageNodePort})
		s.next.nodePortGen, s.next.nodePortSaid = svc.Generation, true
	}
	return s
}

// outcomeEvent is the event that tells users about out.
func outcomeEvent(out Outcome) event {
	if len(out.Addresses) == 0 {
		return event{corev1.EventTypeWarning, ReasonAllocationFailed, out.Problem}
	}
	ips := make([]string, len(out.Addresses))
	for i, a := range out.Addresses {
		ips[i] = a.String()
	}
	return event{corev1.EventTypeNormal, ReasonIPAllocated, "assigned " + strings.Join(ips, ", ")}
}

// ingressOf is the status ingress for addrs: ipMode VIP, since kube-proxy
// delivers the traffic itself (no proxy in between).
func ingressOf(addrs []netip.Addr) []corev1.LoadBalancerIngress {
	if len(addrs) == 0 {
		return nil
	}
	ing := make([]corev1.LoadBalancerIngress, len(addrs))
	for i, a := range addrs {
		ing[i] = corev1.LoadBalancerIngress{IP: a.String(), IPMode: new(corev1.LoadBalancerIPModeVIP)}
	}
	return ing
}

func ipsOf(ing []corev1.LoadBalancerIngress) []string {
	var ips []string
	for _, i := range ing {
		ips = append(ips, i.IP)
	}
	return ips
}

// sameIngress tells whether writing want over have would change nothing.
func sameIngress(want, have []corev1.LoadBalancerIngress) bool {
	return len(want) == 0 && len(have) == 0 || apiequality.Semantic.DeepEqual(want, have)
}
