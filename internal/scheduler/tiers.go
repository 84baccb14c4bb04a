package scheduler

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// podTier is the kind of sandbox a pod asks for: its runtimeClassName
// (fargo-<kind>), else its profile's tier, else "" for the host's default.
func podTier(pod *corev1.Pod, profileTier string) string {
	if pod.Spec.RuntimeClassName != nil {
		if kind, ok := v1.TierOfRuntimeClass(*pod.Spec.RuntimeClassName); ok {
			return kind
		}
	}
	return profileTier
}

// runtimeClassMessage says why a pod's runtimeClassName cannot run on
// fargo hosts, or "".
func runtimeClassMessage(pod *corev1.Pod) string {
	name := pod.Spec.RuntimeClassName
	if name == nil || *name == "" {
		return ""
	}
	if _, ok := v1.TierOfRuntimeClass(*name); ok {
		return ""
	}
	classes := make([]string, len(v1.TierKinds))
	for i, k := range v1.TierKinds {
		classes[i] = v1.RuntimeClassPrefix + k
	}
	return fmt.Sprintf("Pod has runtimeClassName %q, which no fargo host runs: use %s, or none", *name, strings.Join(classes, ", "))
}

// hostTier is the tier kind h runs a pod asking for kind in: kind itself
// when h offers it, or h's default when kind is "".
func hostTier(h *v1.Host, kind string) (string, bool) {
	for _, t := range h.Spec.Tiers {
		if kind == "" || v1.TierKind(t) == kind {
			return v1.TierKind(t), true
		}
	}
	return "", false
}

// flagFor is the --tier value that gives kind.
func flagFor(kind string) string {
	switch kind {
	case v1.TierGVisor:
		return "oci/runsc"
	case v1.TierMicroVM:
		return "microvm/qemu"
	}
	return "oci/runc"
}

// whyNot is the FailedScheduling message for a placement reserve found
// no room for: that no live host offers its tier, if so, else EKS's
// timeout text (it retries).
func (a *accounts) whyNot(p placement) string {
	if p.tier == "" {
		return messageTimedOut
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cands := a.candidates(p.owner, p.now, p.ttl)
	for _, c := range cands {
		if _, ok := hostTier(a.hosts[c.name], p.tier); ok {
			return messageTimedOut
		}
	}
	return fmt.Sprintf("0/%d hosts offer sandbox tier %q: start a host with --tier %s", len(cands), p.tier, flagFor(p.tier))
}
