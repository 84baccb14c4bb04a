package podrunner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// ownConditions are the pod conditions the runner (a kubelet) sets; any
// other type was set by someone else (a readiness gate's controller) and
// is kept as it is.
var ownConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true,
	corev1.PodReady: true, corev1.ContainersReady: true, corev1.PodScheduled: true,
}

// foreignConditions are pod's conditions of types the runner does not own.
// The status patch replaces the whole list, so they are posted back.
func foreignConditions(pod *corev1.Pod) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range pod.Status.Conditions {
		if !ownConditions[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

// gateReady applies spec.readinessGates to a Ready condition that the
// containers make True, in a kubelet's words: each gate's condition must
// be there and True.
func gateReady(pod *corev1.Pod, ready corev1.PodCondition) corev1.PodCondition {
	if ready.Status != corev1.ConditionTrue {
		return ready
	}
	for _, gate := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == gate.ConditionType {
				found = &pod.Status.Conditions[i]
			}
		}
		switch {
		case found == nil:
			return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady",
				Message: fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", gate.ConditionType)}
		case found.Status != corev1.ConditionTrue:
			return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady",
				Message: fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", gate.ConditionType, found.Status)}
		}
	}
	return ready
}
