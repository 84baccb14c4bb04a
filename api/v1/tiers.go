package v1

import "strings"

// Sandbox tier kinds, as RuntimeClasses (fargo-<kind>), profiles'
// spec.tier and pod-node labels name them. A host names its tiers more
// precisely in HostSpec.Tiers ("oci/runc", "microvm/qemu").
const (
	TierOCI     = "oci"     // namespaces and cgroups: runc or crun
	TierGVisor  = "gvisor"  // a user-space kernel: runsc
	TierMicroVM = "microvm" // a VM and kernel per pod: QEMU microvm
)

// TierKinds are the kinds, in the order messages list them.
var TierKinds = []string{TierOCI, TierGVisor, TierMicroVM}

// LabelSandboxTier is the kind of a pod-node's sandbox; the RuntimeClasses'
// scheduling.nodeSelector matches it. AnnotationSandboxTier on a pod is
// the kind the fargate-scheduler chose for it, which the host runs.
const (
	LabelSandboxTier      = "fargo.dev/sandbox-tier"
	AnnotationSandboxTier = "fargo.dev/sandbox-tier"
	// LabelVMAccel is how a microvm pod-node's VM runs: kvm or tcg.
	LabelVMAccel = "fargo.dev/vm-accel"
)

// RuntimeClassPrefix starts the RuntimeClass of each kind: fargo-microvm.
const RuntimeClassPrefix = "fargo-"

// TierKind is the kind of a host tier: oci/runsc is gvisor, others are
// what comes before the slash.
func TierKind(hostTier string) string {
	if hostTier == "oci/runsc" {
		return TierGVisor
	}
	kind, _, _ := strings.Cut(hostTier, "/")
	return kind
}

// TierOfRuntimeClass is the kind a RuntimeClass name asks for; ok is
// false for a name that is not fargo's.
func TierOfRuntimeClass(name string) (kind string, ok bool) {
	kind, ok = strings.CutPrefix(name, RuntimeClassPrefix)
	if !ok {
		return "", false
	}
	for _, k := range TierKinds {
		if k == kind {
			return kind, true
		}
	}
	return "", false
}
