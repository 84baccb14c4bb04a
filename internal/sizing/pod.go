package sizing

import (
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// MemoryOverheadMiB is added to a pod's memory before choosing a size: on
// EKS it is what Fargate keeps for the components running next to the pod
// (kubelet, kube-proxy, containerd) inside the same VM.
const MemoryOverheadMiB = 256

// TooLargeError is returned by ForPod when no Fargate size is big enough.
// Its text is meant for the event telling the user why the pod was rejected.
type TooLargeError struct {
	CPU    resource.Quantity // the pod's CPU request
	Memory resource.Quantity // the pod's memory request plus MemoryOverheadMiB
}

func (e *TooLargeError) Error() string {
	largest := Largest()
	var parts []string
	if e.CPU.Cmp(cpuQuantity(largest)) > 0 {
		parts = append(parts, fmt.Sprintf("pod requests %s, more than the Fargate maximum of %s",
			describeCPU(e.CPU), formatCPU(largest.MilliCPU)))
	}
	if e.Memory.Cmp(memoryQuantity(largest)) > 0 {
		parts = append(parts, fmt.Sprintf("pod requests %s memory (including %dMiB overhead), more than the Fargate maximum of %s",
			describeMemory(e.Memory), MemoryOverheadMiB, formatMemory(largest.MemoryMiB)))
	}
	return strings.Join(parts, "; ")
}

// ForPod returns the smallest Fargate size that holds the pod's CPU and
// memory requests (spec section 3), or a *TooLargeError.
//
// How the request of the pod is computed, per resource:
//   - a container's request is its request, or its limit when it has no
//     request (what API defaulting would have filled in);
//   - the pod's request is the larger of the peak of the init phase and the
//     sum over the long-running containers (see podRequest for sidecars);
//   - pod-level resources (spec.resources), when they set the resource,
//     replace the per-container computation, as they do for kube-scheduler;
//   - spec.overhead is NOT added: on EKS the 256 MiB memory overhead already
//     accounts for what runs beside the pod, and RuntimeClass overhead would
//     count it twice.
func ForPod(spec *corev1.PodSpec) (Size, error) {
	cpu := podRequest(spec, corev1.ResourceCPU)
	memory := podRequest(spec, corev1.ResourceMemory)
	memory.Add(*resource.NewQuantity(MemoryOverheadMiB*bytesPerMiB, resource.BinarySI))
	return fit(cpu, memory)
}

// fit picks the first (smallest) table row holding cpu and memory.
func fit(cpu, memory resource.Quantity) (Size, error) {
	largest := Largest()
	// Compare as quantities first: absurd requests would overflow int64.
	if cpu.Cmp(cpuQuantity(largest)) > 0 || memory.Cmp(memoryQuantity(largest)) > 0 {
		return Size{}, &TooLargeError{CPU: cpu, Memory: memory}
	}
	milli := cpu.MilliValue() // rounds up, so 1n of CPU still needs a row
	mib := ceilDiv(memory.Value(), bytesPerMiB)
	for _, s := range table {
		if s.MilliCPU >= milli && s.MemoryMiB >= mib {
			return s, nil
		}
	}
	// Unreachable: the largest row holds everything that passed the check.
	return Size{}, &TooLargeError{CPU: cpu, Memory: memory}
}

// Resources gives the cpu and memory quantities of a size, used for the
// node's capacity and the sandbox's cgroup limits.
func Resources(s Size) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    cpuQuantity(s),
		corev1.ResourceMemory: memoryQuantity(s),
	}
}

func cpuQuantity(s Size) resource.Quantity {
	return *resource.NewMilliQuantity(s.MilliCPU, resource.DecimalSI)
}

func memoryQuantity(s Size) resource.Quantity {
	return *resource.NewQuantity(s.MemoryMiB*bytesPerMiB, resource.BinarySI)
}

// podRequest computes the pod's request for one resource.
//
// Sidecars (init containers with restartPolicy Always) keep running next to
// the regular containers, so they count in the sum like regular containers.
// They also run during the rest of the init phase: an ordinary init container
// runs together with every sidecar declared before it, so its peak is its own
// request plus theirs. This is exactly how Kubernetes computes a pod's
// request; without sidecars it reduces to max(largest init, sum of regular).
func podRequest(spec *corev1.PodSpec, name corev1.ResourceName) resource.Quantity {
	if spec == nil {
		return resource.Quantity{}
	}
	if spec.Resources != nil {
		if q, ok := containerRequest(*spec.Resources, name); ok {
			return q
		}
	}
	var sidecars, initPeak resource.Quantity
	for _, c := range spec.InitContainers {
		q, _ := containerRequest(c.Resources, name)
		if isSidecar(c) {
			sidecars.Add(q)
			continue
		}
		peak := sidecars.DeepCopy()
		peak.Add(q)
		if peak.Cmp(initPeak) > 0 {
			initPeak = peak
		}
	}
	running := sidecars.DeepCopy()
	for _, c := range spec.Containers {
		q, _ := containerRequest(c.Resources, name)
		running.Add(q)
	}
	if initPeak.Cmp(running) > 0 {
		return initPeak
	}
	return running
}

// containerRequest is the request of one resource, falling back to the limit
// as API defaulting does for a container that only sets a limit.
func containerRequest(r corev1.ResourceRequirements, name corev1.ResourceName) (resource.Quantity, bool) {
	if q, ok := r.Requests[name]; ok {
		return q.DeepCopy(), true
	}
	if q, ok := r.Limits[name]; ok {
		return q.DeepCopy(), true
	}
	return resource.Quantity{}, false
}

func isSidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func ceilDiv(n, d int64) int64 {
	if n <= 0 {
		return 0
	}
	return (n + d - 1) / d
}

// describeCPU and describeMemory write requests in the units of the table,
// falling back to the raw quantity when it is too big for int64 arithmetic.
func describeCPU(q resource.Quantity) string {
	if q.CmpInt64(math.MaxInt64/milliPerCPU) > 0 {
		return q.String() + " vCPU"
	}
	return formatCPU(q.MilliValue())
}

func describeMemory(q resource.Quantity) string {
	if q.CmpInt64(math.MaxInt64/2) > 0 {
		return q.String()
	}
	return formatMemory(ceilDiv(q.Value(), bytesPerMiB))
}
