package support

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// volumes reports, in the pod's volume order, the volumes a sandbox cannot
// provide: anything but emptyDir, configMap, secret, projected, downwardAPI
// and persistentVolumeClaim (hostPath included), and claims not yet bound.
// Generic ephemeral volumes, inline CSI and image volumes are unsupported
// too: the spec's list is closed.
func volumes(pod *corev1.Pod, pvcBound func(namespace, claim string) bool) string {
	var items []string
	for _, v := range pod.Spec.Volumes {
		if pvc := v.PersistentVolumeClaim; pvc != nil {
			if pvcBound != nil && !pvcBound(pod.Namespace, pvc.ClaimName) {
				items = append(items, v.Name+" not supported because: PVC "+pvc.ClaimName+" not bound")
			}
			continue
		}
		if !supportedVolume(v.VolumeSource) {
			items = append(items, v.Name+" is of an unsupported volume Type")
		}
	}
	return fragment("volumes not supported: ", items)
}

// supportedVolume reports whether the sandbox can serve the volume itself.
// A volume with no source at all counts as emptyDir, which is what API
// defaulting turns it into.
func supportedVolume(src corev1.VolumeSource) bool {
	switch {
	case src.EmptyDir != nil, src.ConfigMap != nil, src.Secret != nil,
		src.Projected != nil, src.DownwardAPI != nil:
		return true
	}
	return src == (corev1.VolumeSource{})
}

// dockerDefaultCapabilities is the set a container gets without asking
// (Docker's and containerd's default); adding one of them changes nothing,
// anything else would give the pod power over the shared sandbox kernel.
var dockerDefaultCapabilities = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "FSETID": true, "FOWNER": true,
	"MKNOD": true, "NET_RAW": true, "SETGID": true, "SETUID": true,
	"SETFCAP": true, "SETPCAP": true, "NET_BIND_SERVICE": true,
	"SYS_CHROOT": true, "KILL": true, "AUDIT_WRITE": true,
}

// securityContext gathers the forbidden settings of all containers into one
// fragment: "Privileged", then "AllowPrivilegeEscalation" (only when set to
// true, nil means the default), then "Capabilities added: " with every
// non-default capability, last because it is itself a ", " list.
// Capabilities are written upper case without the CAP_ prefix, each once,
// in the order first seen.
func securityContext(containers []corev1.Container) string {
	var privileged, escalation bool
	var caps []string
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			continue
		}
		privileged = privileged || isTrue(sc.Privileged)
		escalation = escalation || isTrue(sc.AllowPrivilegeEscalation)
		if sc.Capabilities == nil {
			continue
		}
		for _, added := range sc.Capabilities.Add {
			name := capabilityName(added)
			if name != "" && !dockerDefaultCapabilities[name] && !slices.Contains(caps, name) {
				caps = append(caps, name)
			}
		}
	}
	var items []string
	if privileged {
		items = append(items, "Privileged")
	}
	if escalation {
		items = append(items, "AllowPrivilegeEscalation")
	}
	if len(caps) > 0 {
		items = append(items, "Capabilities added: "+strings.Join(caps, ", "))
	}
	return fragment("invalid SecurityContext fields: ", items)
}

// capabilityName normalises "cap_net_admin", "CAP_NET_ADMIN" and "net_admin"
// to "NET_ADMIN", as container runtimes accept all of them.
func capabilityName(c corev1.Capability) string {
	name := strings.ToUpper(strings.TrimSpace(string(c)))
	return strings.TrimPrefix(name, "CAP_")
}

func isTrue(b *bool) bool { return b != nil && *b }

// supportedResources are the only resources a Fargate node offers. Extended
// resources (GPUs, devices) have nothing behind them in a sandbox, and
// neither do hugepages-*: the sandbox does not reserve huge pages and the
// node does not advertise them, so such a pod could never start.
var supportedResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:              true,
	corev1.ResourceMemory:           true,
	corev1.ResourceEphemeralStorage: true,
}

// resources lists, sorted and once each, every other resource requested or
// limited by a container or by the pod-level resources. A zero quantity
// ("nvidia.com/gpu: 0") asks for nothing and is let through.
func resources(spec *corev1.PodSpec, containers []corev1.Container) string {
	var names []string
	note := func(r corev1.ResourceRequirements) {
		for _, l := range []corev1.ResourceList{r.Requests, r.Limits} {
			for name, q := range l {
				if !supportedResources[name] && !q.IsZero() && !slices.Contains(names, string(name)) {
					names = append(names, string(name))
				}
			}
		}
	}
	if spec.Resources != nil {
		note(*spec.Resources)
	}
	for _, c := range containers {
		note(c.Resources)
	}
	slices.Sort(names) // map order is random; events must be stable
	return fragment("resources not supported: ", names)
}
