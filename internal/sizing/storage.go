package sizing

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const (
	// DefaultEphemeralStorageBytes is the sandbox disk of a pod that asks
	// for no more.
	DefaultEphemeralStorageBytes = 20 * bytesPerGiB
	// MaxEphemeralStorageBytes caps the sandbox disk, whatever is requested.
	MaxEphemeralStorageBytes = 175 * bytesPerGiB
	// ephemeralHeadroomBytes is added on top of a larger request, with 10%,
	// for the image layers and logs that share the disk with the pod's data.
	ephemeralHeadroomBytes = 5 * bytesPerGiB
)

// EphemeralStorage returns the size of the pod's sandbox disk: 20 GiB, or,
// when the pod requests more, the request + 10% + 5 GiB, rounded up to a
// whole MiB and capped at 175 GiB.
//
// "The containers' requests" is read with the same rule as CPU and memory
// (see podRequest): the larger of the init phase's peak and the sum over the
// long-running containers and sidecars, a limit standing in for a missing
// request. That is the value Kubernetes itself treats as the pod's
// ephemeral-storage request for scheduling and eviction, so the disk is
// never smaller than what the kubelet side will let the pod use.
//
// A request above the cap is not rejected (EKS does not reject it either);
// the pod gets 175 GiB and eviction deals with actual overuse.
func EphemeralStorage(spec *corev1.PodSpec) resource.Quantity {
	return *resource.NewQuantity(ephemeralStorageBytes(spec), resource.BinarySI)
}

func ephemeralStorageBytes(spec *corev1.PodSpec) int64 {
	requested := podRequest(spec, corev1.ResourceEphemeralStorage)
	if requested.CmpInt64(DefaultEphemeralStorageBytes) <= 0 {
		return DefaultEphemeralStorageBytes
	}
	// Checked before Value(): a huge request would overflow int64.
	if requested.CmpInt64(MaxEphemeralStorageBytes) >= 0 {
		return MaxEphemeralStorageBytes
	}
	b := requested.Value()
	total := b + ceilDiv(b, 10) + ephemeralHeadroomBytes
	total = ceilDiv(total, bytesPerMiB) * bytesPerMiB
	return min(total, MaxEphemeralStorageBytes)
}
