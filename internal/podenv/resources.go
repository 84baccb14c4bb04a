package podenv

import (
	"fmt"

	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/sizing"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ResourceFieldRef returns a container's resource as the downward API shows
// it: limits.cpu, limits.memory, limits.ephemeral-storage and the
// requests.* twins, divided by ref.Divisor (default 1) and rounded up.
// The container is ref.ContainerName, or containerName when that is empty.
// A missing limit reads as the pod's provisioned size (podCPUMillis,
// podMemoryBytes, and the sandbox disk for ephemeral storage), where a
// kubelet reads its node's allocatable: on fargo the node is the pod.
func ResourceFieldRef(pod *corev1.Pod, containerName string, ref *corev1.ResourceFieldSelector, podCPUMillis, podMemoryBytes int64) (string, error) {
	if ref.ContainerName != "" {
		containerName = ref.ContainerName
	}
	c := findContainer(pod, containerName)
	if c == nil {
		return "", fmt.Errorf("container %s not found", containerName)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	limits := withPodDefaults(pod, c.Resources.Limits, podCPUMillis, podMemoryBytes)
	switch ref.Resource {
	case "limits.cpu":
		return divideMilli(limits.Cpu(), divisor)
	case "limits.memory":
		return divide(limits.Memory(), divisor)
	case "limits.ephemeral-storage":
		return divide(limits.StorageEphemeral(), divisor)
	case "requests.cpu":
		return divideMilli(c.Resources.Requests.Cpu(), divisor)
	case "requests.memory":
		return divide(c.Resources.Requests.Memory(), divisor)
	case "requests.ephemeral-storage":
		return divide(c.Resources.Requests.StorageEphemeral(), divisor)
	}
	return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// withPodDefaults fills missing or zero cpu, memory and ephemeral-storage
// limits with what the pod's sandbox provides.
func withPodDefaults(pod *corev1.Pod, limits corev1.ResourceList, milliCPU, memoryBytes int64) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, q := range limits {
		out[name] = q
	}
	defaults := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(memoryBytes, resource.BinarySI),
		corev1.ResourceEphemeralStorage: sizing.EphemeralStorage(&pod.Spec),
	}
	for name, q := range defaults {
		if have, ok := out[name]; !ok || have.IsZero() {
			out[name] = q
		}
	}
	return out
}

// divideMilli divides CPU in millicores, so divisor 1m gives millicores.
func divideMilli(q *resource.Quantity, divisor resource.Quantity) (string, error) {
	d := divisor.MilliValue()
	if d <= 0 {
		return "", fmt.Errorf("invalid divisor %s: use 1m or 1 for cpu", divisor.String())
	}
	return fmt.Sprint(ceilDiv(q.MilliValue(), d)), nil
}

func divide(q *resource.Quantity, divisor resource.Quantity) (string, error) {
	d := divisor.Value()
	if d <= 0 {
		return "", fmt.Errorf("invalid divisor %s: use 1, 1Ki, 1Mi, 1Gi or their decimal twins", divisor.String())
	}
	return fmt.Sprint(ceilDiv(q.Value(), d)), nil
}

func ceilDiv(n, d int64) int64 {
	if n <= 0 {
		return 0
	}
	return (n-1)/d + 1
}

// provisionedSize is the pod's size from its CapacityProvisioned
// annotation, else the size admission would give it.
func provisionedSize(pod *corev1.Pod) (milliCPU, memoryBytes int64) {
	size, err := sizing.Parse(pod.Annotations[profile.AnnotationCapacityProvisioned])
	if err != nil {
		if size, err = sizing.ForPod(&pod.Spec); err != nil {
			return 0, 0
		}
	}
	return size.MilliCPU, size.MemoryMiB << 20
}
