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
// own provisioned size, per tier, measured on this project's reference
// machine (2 cores, Debian 12) and recorded in bench/RESULTS.md:
// - oci: the shim and pause processes and the agent's share per pod
//   (BenchmarkPodStart, per-pod-MiB ≈ 4 MiB);
// - gvisor: runsc's sentry and gofer per pod (≈ 40 MiB RSS);
// - microvm: QEMU's own memory beyond the guest's
//   (BenchmarkMicroVMPodStart, vmm-overhead-MiB) and a guest kernel's
//   share of the guest memory is the pod's own, so not counted here.
var tierOverhead = map[string]corev1.ResourceList{
	v1.TierOCI:     {corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("8Mi")},
	v1.TierGVisor:  {corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("48Mi")},
	v1.TierMicroVM: {corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
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
