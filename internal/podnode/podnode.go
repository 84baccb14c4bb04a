// Package podnode says what a pod-node is: the Node object that the
// fargate-scheduler creates for exactly one Fargate pod, named after the
// pod's IP, and that lives as long as the pod object. The scheduler builds
// it with New, Ready from the start; the host agent keeps it Ready; both
// find its pod with PodOf.
// The names, labels and taint are EKS Fargate's, so that tools written for
// EKS see the nodes they expect.
package podnode

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// SchedulerName is the schedulerName of the pods fargo places.
const SchedulerName = "fargate-scheduler"

// Labels and annotations fargo adds to pod-nodes for its own bookkeeping.
const (
	// LabelHost names the Host whose agent serves the node.
	LabelHost = "fargo.dev/host"
	// AnnotationPodUID and AnnotationPod name the node's pod: its UID, and
	// NAMESPACE/NAME.
	AnnotationPodUID = "fargo.dev/pod-uid"
	AnnotationPod    = "fargo.dev/pod"
)

// Name returns the node name of the pod with IP ip:
// fargate-ip-A-B-C-D.<region>.compute.internal.
func Name(ip netip.Addr, region string) string { return "fargate-" + Hostname(ip, region) }

// Hostname returns ip-A-B-C-D.<region>.compute.internal, the node's
// kubernetes.io/hostname label and Hostname address.
func Hostname(ip netip.Addr, region string) string {
	return "ip-" + strings.ReplaceAll(ip.String(), ".", "-") + "." + region + ".compute.internal"
}

// IPFromName returns the IP a node name encodes; ok is false for names that
// are not pod-node names.
func IPFromName(name string) (ip netip.Addr, ok bool) {
	rest, found := strings.CutPrefix(name, "fargate-ip-")
	if !found {
		return netip.Addr{}, false
	}
	dashed, _, found := strings.Cut(rest, ".")
	if !found {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(dashed, "-", "."))
	return ip, err == nil && ip.Is4()
}

// IP is a pod-node's InternalIP, which is also its pod's IP; a node
// without addresses yet falls back to the IP its name encodes.
func IP(node *corev1.Node) (netip.Addr, error) {
	for _, addr := range node.Status.Addresses {
		if addr.Type == corev1.NodeInternalIP {
			return netip.ParseAddr(addr.Address)
		}
	}
	if ip, ok := IPFromName(node.Name); ok {
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("node %s has no InternalIP", node.Name)
}

// KubeletVersion is what pod-nodes report as kubelet version for a control
// plane at Kubernetes version k8s (like v1.36.3): v1.36.3-fargo.
func KubeletVersion(k8s string) string { return k8s + "-fargo" }

// Taint keeps every pod that does not tolerate it, DaemonSet pods included,
// off pod-nodes.
func Taint() corev1.Taint {
	return corev1.Taint{Key: profile.AnnotationComputeType, Value: profile.ComputeTypeFargate, Effect: corev1.TaintEffectNoSchedule}
}

// Spec is what New needs to know.
type Spec struct {
	IP     netip.Addr
	Region string
	Zone   string
	Host   string
	Pod    *corev1.Pod
	Size   sizing.Size
	// NodeInfo is the host's (api/v1 HostStatus.NodeInfo).
	NodeInfo corev1.NodeSystemInfo
	// Tier is the kind of sandbox the pod runs in (api/v1 TierKinds),
	// shown in the node's fargo.dev/sandbox-tier label.
	Tier string
	// VMAccel is how the tier's VMs run on the host (kvm, tcg), shown in
	// the node's fargo.dev/vm-accel label; empty for other tiers.
	VMAccel string
	// Now is when the node is made: its conditions' times.
	Now time.Time
}

// ReadyConditions are the conditions of a healthy node as of now, with
// kubelet's reasons, in kubelet's order.
func ReadyConditions(now metav1.Time) []corev1.NodeCondition {
	cond := func(t corev1.NodeConditionType, status corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: status, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "fargo host agent has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "fargo host agent has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "fargo host agent has sufficient PID available"),
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "fargo host agent is posting ready status"),
	}
}

// KubeletPort is where a pod-node's kubelet API answers, at the node's
// address, as on any node. The host's agent serves it for all its pod-nodes;
// its firewall steers the port there (internal/network).
const KubeletPort = 10250

// New returns the pod-node for s: name, labels, taint, capacity for one pod
// of its provisioned size, addresses, the pod it belongs to, and Ready, as a
// kubelet registers its node with its first status. The scheduler makes it
// only on a host whose agent is alive, and that agent then keeps it Ready:
// a node made without conditions would cost a status write and its watch
// events per pod, and one made Ready=Unknown would make the node lifecycle
// controller add, then remove, an unreachable taint.
func New(s Spec) *corev1.Node {
	hostname := Hostname(s.IP, s.Region)
	capacity := sizing.Resources(s.Size)
	capacity[corev1.ResourcePods] = resource.MustParse("1")
	labels := Labels(hostname, s.Region, s.Zone, s.Host)
	if s.Tier != "" {
		labels[v1.LabelSandboxTier] = s.Tier
	}
	if s.VMAccel != "" {
		labels[v1.LabelVMAccel] = s.VMAccel
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   Name(s.IP, s.Region),
			Labels: labels,
			Annotations: map[string]string{
				AnnotationPodUID:                      string(s.Pod.UID),
				AnnotationPod:                         s.Pod.Namespace + "/" + s.Pod.Name,
				profile.AnnotationCapacityProvisioned: s.Size.String(),
			},
		},
		Spec: corev1.NodeSpec{
			Taints:     []corev1.Taint{Taint()},
			ProviderID: fmt.Sprintf("fargo://%s/%s", s.Host, s.IP),
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: s.IP.String()},
				{Type: corev1.NodeHostName, Address: hostname},
				{Type: corev1.NodeInternalDNS, Address: hostname},
			},
			NodeInfo:   s.NodeInfo,
			Conditions: ReadyConditions(metav1.NewTime(s.Now)),
			DaemonEndpoints: corev1.NodeDaemonEndpoints{
				KubeletEndpoint: corev1.DaemonEndpoint{Port: KubeletPort},
			},
		},
	}
}

// Labels returns the labels of a pod-node, EKS's and fargo's.
func Labels(hostname, region, zone, host string) map[string]string {
	return map[string]string{
		profile.AnnotationComputeType:       profile.ComputeTypeFargate,
		corev1.LabelHostname:                hostname,
		corev1.LabelOSStable:                "linux",
		corev1.LabelArchStable:              "amd64",
		"beta.kubernetes.io/os":             "linux",
		"beta.kubernetes.io/arch":           "amd64",
		corev1.LabelTopologyRegion:          region,
		corev1.LabelTopologyZone:            zone,
		corev1.LabelFailureDomainBetaRegion: region,
		corev1.LabelFailureDomainBetaZone:   zone,
		LabelHost:                           host,
	}
}

// Is reports whether node is a pod-node (made by New).
func Is(node *corev1.Node) bool {
	return node.Labels[profile.AnnotationComputeType] == profile.ComputeTypeFargate && node.Labels[LabelHost] != "" &&
		node.Annotations[AnnotationPodUID] != ""
}

// PodRef names the pod a pod-node belongs to.
type PodRef struct {
	Namespace, Name string
	UID             types.UID
}

// Key is NAMESPACE/NAME, the informer cache key of the pod.
func (r PodRef) Key() string { return r.Namespace + "/" + r.Name }

// PodOf returns the pod node was made for; ok is false for other nodes.
func PodOf(node *corev1.Node) (ref PodRef, ok bool) {
	if !Is(node) {
		return PodRef{}, false
	}
	ns, name, found := strings.Cut(node.Annotations[AnnotationPod], "/")
	if !found {
		return PodRef{}, false
	}
	return PodRef{Namespace: ns, Name: name, UID: types.UID(node.Annotations[AnnotationPodUID])}, true
}

// SizeOf returns the provisioned size recorded on a pod-node.
func SizeOf(node *corev1.Node) (sizing.Size, error) {
	return sizing.Parse(node.Annotations[profile.AnnotationCapacityProvisioned])
}
