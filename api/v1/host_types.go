package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Host is a machine whose agent runs the sandboxes of Fargate pods. The agent
// (`fargo agent`, or the one inside `fargo up`) creates its Host when it
// starts, writes spec and status.nodeInfo, and renews the Lease
// HostLeaseName(name) in SystemNamespace. The fargate-scheduler places pods
// only on hosts whose Lease is fresh; the server writes the Ready condition
// from that Lease so that users see the same thing.
type Host struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HostSpec   `json:"spec"`
	Status HostStatus `json:"status,omitempty"`
}

// HostSpec is what a host offers to pods.
type HostSpec struct {
	// Zone is the topology.kubernetes.io/zone of every pod-node on this host.
	Zone string `json:"zone"`

	// Allocatable is the cpu and memory the scheduler may give to pods here,
	// in provisioned Fargate sizes.
	Allocatable corev1.ResourceList `json:"allocatable"`

	// PodCIDRs are the address blocks this host gives pods, in private
	// address space. A pod's IP is also its node's name and InternalIP.
	PodCIDRs []string `json:"podCIDRs"`

	// Tiers are the sandbox kinds this host runs, preferred first, such as
	// "oci/runc" or "microvm/qemu".
	Tiers []string `json:"tiers"`

	// Address is where the host itself is reachable from other hosts.
	// +optional
	Address string `json:"address,omitempty"`
}

// HostStatus is written by the agent (NodeInfo) and by the server (Conditions).
type HostStatus struct {
	// NodeInfo is copied onto each pod-node of the host: kubelet version,
	// container runtime of the default tier, kernel and OS image.
	// +optional
	NodeInfo corev1.NodeSystemInfo `json:"nodeInfo,omitempty"`

	// Tiers says how each tier of spec.tiers runs on this host: the
	// container runtime its pod-nodes report and, for microVMs, the
	// accelerator the agent's probe chose.
	// +optional
	Tiers []HostTierStatus `json:"tiers,omitempty"`

	// Conditions has HostReady: True while the heartbeat Lease is fresh.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// HostTierStatus is how one of a host's tiers runs there.
type HostTierStatus struct {
	// Name is the tier as spec.tiers names it, such as "microvm/qemu".
	Name string `json:"name"`
	// ContainerRuntimeVersion is what the tier's pod-nodes report, such as
	// "qemu://7.2.22+tcg".
	ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
	// VMAccel is how the tier's VMs run, "kvm" or "tcg"; empty for tiers
	// that are not VMs. The tier's pod-nodes carry it as LabelVMAccel.
	// +optional
	VMAccel string `json:"vmAccel,omitempty"`
}

// VMAccelOf is the accelerator of the host's tier of kind, or "" when it
// has none (not a VM tier, or not offered).
func (h *Host) VMAccelOf(kind string) string {
	for _, t := range h.Status.Tiers {
		if TierKind(t.Name) == kind {
			return t.VMAccel
		}
	}
	return ""
}

// HostReady is the condition type that says whether a host takes pods.
const HostReady = "Ready"

// Reasons of the HostReady condition.
const (
	HostReasonHeartbeat        = "HeartbeatFresh"
	HostReasonHeartbeatStopped = "HeartbeatStopped"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// HostList is a list of Hosts.
type HostList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Host `json:"items"`
}

// Objects of fargo itself that hosts and the server share.
const (
	// SystemNamespace holds host heartbeat Leases and ClusterInfoName.
	SystemNamespace = "fargo-system"
	// ClusterInfoName is a ConfigMap in SystemNamespace with what an agent
	// needs to know of its cluster, under the ClusterInfo* keys.
	ClusterInfoName      = "fargo-cluster"
	ClusterInfoRegionKey = "region"
	ClusterInfoDNSKey    = "clusterDNS"
	ClusterInfoDomainKey = "clusterDomain"
	// ClusterInfoNameKey is the cluster's name (the flb_log_cw log group
	// is <name>-fluent-bit-logs).
	ClusterInfoNameKey = "clusterName"
	// HostLeaseDurationSeconds is how long a host counts as alive after its
	// last heartbeat; agents renew at a quarter of it, as kubelets do.
	HostLeaseDurationSeconds = 40
)

// HostLeaseName is the name of host's heartbeat Lease in SystemNamespace.
func HostLeaseName(host string) string { return "host-" + host }
