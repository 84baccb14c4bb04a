// Package support decides whether a pod can run in a Fargate sandbox and,
// when it cannot, explains why in the words of EKS's fargate-scheduler
// (spec section 4, "Unsupported pods"): users grep these events, so the
// fragments and their order are fixed.
//
// Each kind of problem gives at most one fragment; several problems of one
// kind are listed inside it, separated by ", ", after a single prefix, the
// way EKS lists host namespaces ("fields not supported: HostNetwork,
// HostPID"). Fragments come in this order:
//
//  1. fields not supported: HostNetwork, HostPID, HostIPC
//  2. port contains HostIP or HostPort
//  3. volumes not supported: <vol> is of an unsupported volume Type, <vol> not supported because: PVC <claim> not bound
//  4. invalid SecurityContext fields: Privileged, AllowPrivilegeEscalation, Capabilities added: NET_ADMIN, SYS_ADMIN
//  5. resources not supported: hugepages-2Mi, nvidia.com/gpu
//
// Containers of every kind are checked: init containers (sidecars
// included), regular containers and ephemeral containers, since all of them
// run inside the same sandbox.
package support

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MessagePrefix starts the FailedScheduling event of an unsupported pod.
const MessagePrefix = "Pod not supported on Fargate: "

// Message builds the event text from Reasons, or "" when there are none.
func Message(reasons []string) string {
	if len(reasons) == 0 {
		return ""
	}
	return MessagePrefix + strings.Join(reasons, ", ")
}

// Reasons lists, in the fixed order above, why the pod cannot run on
// Fargate; nil means it can. pvcBound reports whether a PersistentVolumeClaim
// of the pod's namespace is bound; a nil pvcBound skips that check (for
// callers without a PVC lister, e.g. admission, which runs before binding).
func Reasons(pod *corev1.Pod, pvcBound func(namespace, claim string) bool) []string {
	if pod == nil {
		return nil
	}
	containers := allContainers(&pod.Spec)
	var reasons []string
	for _, fragment := range []string{
		hostNamespaces(&pod.Spec),
		hostPorts(containers),
		volumes(pod, pvcBound),
		securityContext(containers),
		resources(&pod.Spec, containers),
	} {
		if fragment != "" {
			reasons = append(reasons, fragment)
		}
	}
	return reasons
}

// fragment joins items after prefix, or gives "" when there are none.
func fragment(prefix string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	return prefix + strings.Join(items, ", ")
}

// allContainers returns every container of the pod. Ephemeral containers
// are converted (their common part has the same fields as a Container) so
// the checks need only one shape.
func allContainers(spec *corev1.PodSpec) []corev1.Container {
	out := make([]corev1.Container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	out = append(out, spec.InitContainers...)
	out = append(out, spec.Containers...)
	for _, ec := range spec.EphemeralContainers {
		out = append(out, corev1.Container(ec.EphemeralContainerCommon))
	}
	return out
}

// hostNamespaces: a sandbox has its own kernel, there is no host network,
// PID or IPC namespace to share.
func hostNamespaces(spec *corev1.PodSpec) string {
	var fields []string
	if spec.HostNetwork {
		fields = append(fields, "HostNetwork")
	}
	if spec.HostPID {
		fields = append(fields, "HostPID")
	}
	if spec.HostIPC {
		fields = append(fields, "HostIPC")
	}
	return fragment("fields not supported: ", fields)
}

// hostPorts: the pod's IP is the node's IP, there is no other host address
// or port to bind.
func hostPorts(containers []corev1.Container) string {
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 || p.HostIP != "" {
				return "port contains HostIP or HostPort"
			}
		}
	}
	return ""
}
