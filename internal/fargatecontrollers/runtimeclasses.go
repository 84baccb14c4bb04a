package fargatecontrollers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// tierOverhead is what a pod's sandbox costs the host beyond the pod's
// own provisioned size, per tier, as measured on the project's reference
// machine (2 cores, Debian 12; bench/RESULTS.md), rounded up:
//   - oci: the shim and pause processes and the agent's share, 2.54 MiB
//     PSS per idle pod (BenchmarkPodStart); their CPU at idle is nil.
//   - microvm: QEMU's own memory beyond the guest's, 57 MiB PSS, and 41
//     millicores per idle VM under TCG (BenchmarkMicroVMPodStart). The
//     guest kernel lives in the pod's own provisioned memory.
//   - gvisor: not measurable here (Debian's 2022 runsc cannot run pods on
//     this kernel); the figure is gVisor's sentry and gofer at idle as
//     gVisor's documentation gives them. Measure before relying on it.
var tierOverhead = map[string]corev1.ResourceList{
	v1.TierOCI:     {corev1.ResourceMemory: resource.MustParse("4Mi")},
	v1.TierGVisor:  {corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("48Mi")},
	v1.TierMicroVM: {corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
}

// runtimeClass is the RuntimeClass of tier kind: pods naming it run in
// that tier, with its overhead, on pod-nodes of that tier.
func runtimeClass(kind string) *nodev1.RuntimeClass {
	return &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: v1.RuntimeClassPrefix + kind},
		Handler:    kind,
		Overhead:   &nodev1.Overhead{PodFixed: tierOverhead[kind]},
		Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{v1.LabelSandboxTier: kind}},
	}
}

// writeRuntimeClasses creates or updates fargo's RuntimeClasses.
func writeRuntimeClasses(ctx context.Context, cs kubernetes.Interface) error {
	rcs := cs.NodeV1().RuntimeClasses()
	for _, kind := range v1.TierKinds {
		want := runtimeClass(kind)
		_, err := rcs.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var cur *nodev1.RuntimeClass
			if cur, err = rcs.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
				// handler is immutable; overhead and scheduling are ours to set.
				cur.Overhead, cur.Scheduling = want.Overhead, want.Scheduling
				_, err = rcs.Update(ctx, cur, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return fmt.Errorf("writing RuntimeClass %s: %w", want.Name, err)
		}
	}
	return nil
}
