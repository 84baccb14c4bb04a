package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// tierHosts are three hosts, one per tier kind, each with its own block.
func tierHosts(now time.Time) ([]*v1.Host, []runtime.Object) {
	oci := testHost("oci-host", "us-east-1a", "4", "8Gi", "10.0.1.0/24")
	vm := testHost("vm-host", "us-east-1a", "4", "8Gi", "10.0.2.0/24")
	vm.Spec.Tiers = []string{"microvm/qemu", "oci/runc"}
	vm.Status.Tiers = []v1.HostTierStatus{
		{Name: "microvm/qemu", ContainerRuntimeVersion: "qemu://7.2.22+tcg", VMAccel: "tcg"},
		{Name: "oci/runc", ContainerRuntimeVersion: "runc://1.1.5"},
	}
	gv := testHost("gvisor-host", "us-east-1a", "4", "8Gi", "10.0.3.0/24")
	gv.Spec.Tiers = []string{"oci/runsc"}
	return []*v1.Host{oci, vm, gv}, []runtime.Object{hostLease("oci-host", now), hostLease("vm-host", now), hostLease("gvisor-host", now)}
}

func withRuntimeClass(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.RuntimeClassName = &name }
}

func withProfile(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Labels[profile.LabelFargateProfile] = name }
}

func TestEachRuleDecidesTheTier(t *testing.T) {
	now := time.Now()
	hosts, leases := tierHosts(now)
	e := startEnvWith(t, 0, func(c *Config) {
		c.ProfileTier = func(name string) string {
			if name == "vms" {
				return v1.TierMicroVM
			}
			return ""
		}
	}, hosts, leases...)
	e.createPod(testPod("by-class", withRuntimeClass("fargo-gvisor"), withProfile("vms")))
	e.createPod(testPod("by-profile", withProfile("vms")))
	e.createPod(testPod("by-host"))

	for pod, want := range map[string]struct{ host, tier string }{
		"by-class":   {"gvisor-host", v1.TierGVisor},
		"by-profile": {"vm-host", v1.TierMicroVM},
	} {
		node := e.boundNode(pod)
		if node.Labels["fargo.dev/host"] != want.host || node.Labels[v1.LabelSandboxTier] != want.tier {
			t.Errorf("%s: on %s with tier label %q; want %s, %s", pod, node.Labels["fargo.dev/host"], node.Labels[v1.LabelSandboxTier], want.host, want.tier)
		}
		// A microVM pod-node says how its VM runs; others have no label.
		if want, got := map[string]string{v1.TierMicroVM: "tcg"}[want.tier], node.Labels[v1.LabelVMAccel]; got != want {
			t.Errorf("%s: %s label %q, want %q", pod, v1.LabelVMAccel, got, want)
		}
		p, _ := e.cs.CoreV1().Pods(testNS).Get(context.Background(), pod, metav1.GetOptions{})
		if p.Annotations[v1.AnnotationSandboxTier] != want.tier {
			t.Errorf("%s: annotation %q, want %q", pod, p.Annotations[v1.AnnotationSandboxTier], want.tier)
		}
	}
	// No rule: the chosen host's default decides.
	node := e.boundNode("by-host")
	host := node.Labels["fargo.dev/host"]
	wantTier := map[string]string{"oci-host": v1.TierOCI, "vm-host": v1.TierMicroVM, "gvisor-host": v1.TierGVisor}[host]
	if node.Labels[v1.LabelSandboxTier] != wantTier {
		t.Errorf("by-host on %s has tier %q, want its default %q", host, node.Labels[v1.LabelSandboxTier], wantTier)
	}
}

func TestUnofferedTierSaysSo(t *testing.T) {
	now := time.Now()
	oci := testHost("oci-host", "us-east-1a", "4", "8Gi", "10.0.1.0/24")
	e := newEnv(t, []*v1.Host{oci}, hostLease("oci-host", now))
	e.createPod(testPod("vm", withRuntimeClass("fargo-microvm")))
	want := `Warning FailedScheduling 0/1 hosts offer sandbox tier "microvm": start a host with --tier microvm/qemu`
	testwait.Eventually(t, waitTimeout, want, func(context.Context) error {
		if e.events.count(want) == 0 {
			return fmt.Errorf("events:\n%s", e.events)
		}
		return nil
	})
	if n := e.nodeCount(); n != 0 {
		t.Errorf("%d nodes made for a pod no host can run", n)
	}
}

func TestForeignRuntimeClassIsRefused(t *testing.T) {
	now := time.Now()
	e := newEnv(t, []*v1.Host{testHost("h1", "us-east-1a", "4", "8Gi", "10.0.1.0/24")}, hostLease("h1", now))
	e.createPod(testPod("kata", withRuntimeClass("kata-qemu")))
	want := `Warning FailedScheduling Pod has runtimeClassName "kata-qemu", which no fargo host runs: use fargo-oci, fargo-gvisor, fargo-microvm, or none`
	testwait.Eventually(t, waitTimeout, want, func(context.Context) error {
		if e.events.count(want) != 1 {
			return fmt.Errorf("events:\n%s", e.events)
		}
		return nil
	})
}
