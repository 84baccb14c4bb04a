package podnode

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/sizing"
)

func TestNames(t *testing.T) {
	cases := []struct {
		ip, region, name, hostname string
	}{
		{"192.168.3.15", "ap-northeast-2", "fargate-ip-192-168-3-15.ap-northeast-2.compute.internal", "ip-192-168-3-15.ap-northeast-2.compute.internal"},
		{"10.42.0.2", "us-east-1", "fargate-ip-10-42-0-2.us-east-1.compute.internal", "ip-10-42-0-2.us-east-1.compute.internal"},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(c.ip)
			if got := Name(ip, c.region); got != c.name {
				t.Errorf("Name = %q, want %q", got, c.name)
			}
			if got := Hostname(ip, c.region); got != c.hostname {
				t.Errorf("Hostname = %q, want %q", got, c.hostname)
			}
			if got, ok := IPFromName(c.name); !ok || got != ip {
				t.Errorf("IPFromName = %v %v, want %v", got, ok, ip)
			}
		})
	}
	for _, bad := range []string{"ip-10-0-0-1.x", "fargate-ip-10-0-0.x", "fargate-ip-a-b-c-d.x", "fargate-ip-10-0-0-1"} {
		t.Run("not a pod-node name "+bad, func(t *testing.T) {
			if _, ok := IPFromName(bad); ok {
				t.Errorf("IPFromName(%q) ok", bad)
			}
		})
	}
}

func TestNew(t *testing.T) {
	size, err := sizing.Parse("0.5vCPU 1GB")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "study-aews", Name: "netshoot-1", UID: "u1"}}
	made := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	n := New(Spec{IP: netip.MustParseAddr("10.42.0.7"), Region: "us-east-1", Zone: "us-east-1a", Host: "h1", Pod: pod, Size: size, Now: made})
	ready := n.Status.Conditions[len(n.Status.Conditions)-1]
	checks := []struct{ what, got, want string }{
		{"name", n.Name, "fargate-ip-10-42-0-7.us-east-1.compute.internal"},
		{"compute-type label", n.Labels["eks.amazonaws.com/compute-type"], "fargate"},
		{"hostname label", n.Labels["kubernetes.io/hostname"], "ip-10-42-0-7.us-east-1.compute.internal"},
		{"zone label", n.Labels["topology.kubernetes.io/zone"], "us-east-1a"},
		{"beta zone label", n.Labels["failure-domain.beta.kubernetes.io/zone"], "us-east-1a"},
		{"host label", n.Labels[LabelHost], "h1"},
		{"taint", n.Spec.Taints[0].ToString(), "eks.amazonaws.com/compute-type=fargate:NoSchedule"},
		{"internal IP", n.Status.Addresses[0].Address, "10.42.0.7"},
		{"pods", n.Status.Capacity.Pods().String(), "1"},
		{"cpu", n.Status.Capacity.Cpu().String(), "500m"},
		{"memory", n.Status.Allocatable.Memory().String(), "1Gi"},
		{"conditions", fmt.Sprint(len(n.Status.Conditions)), "4"},
		{"Ready (registered with its first status, as a kubelet does)", string(ready.Type) + "=" + string(ready.Status), "Ready=True"},
		{"Ready since", ready.LastTransitionTime.UTC().String(), made.String()},
	}
	for _, c := range checks {
		t.Run(c.what, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		})
	}
	ref, ok := PodOf(n)
	if !ok || ref.Key() != "study-aews/netshoot-1" || ref.UID != "u1" {
		t.Errorf("PodOf = %+v %v", ref, ok)
	}
	if got, err := SizeOf(n); err != nil || got != size {
		t.Errorf("SizeOf = %v %v, want %v", got, err, size)
	}
	other := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}}
	if _, ok := PodOf(other); ok || Is(other) {
		t.Errorf("an ordinary node is taken for a pod-node")
	}
}
