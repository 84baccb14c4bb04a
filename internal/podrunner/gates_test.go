package podrunner

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestReadinessGates: a running, ready pod is Ready only once every
// readiness gate's condition is True; conditions set by others are kept.
func TestReadinessGates(t *testing.T) {
	tests := []struct {
		name        string
		gate        []corev1.PodCondition
		wantReady   corev1.ConditionStatus
		wantMessage string
	}{
		{"gate condition missing", nil, corev1.ConditionFalse, `corresponding condition of pod readiness gate "k8s.io/test-condition1" does not exist.`},
		{"gate False", []corev1.PodCondition{{Type: "k8s.io/test-condition1", Status: corev1.ConditionFalse}}, corev1.ConditionFalse,
			`the status of pod readiness gate "k8s.io/test-condition1" is not "True", but False`},
		{"gate True", []corev1.PodCondition{{Type: "k8s.io/test-condition1", Status: corev1.ConditionTrue}}, corev1.ConditionTrue, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := onePod(corev1.Container{Name: "c"})
			pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
			pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "k8s.io/test-condition1"}}
			pod.Status.Conditions = tt.gate
			w := statusWorker(t, pod)
			w.initDone = true
			c := &container{spec: &pod.Spec.Containers[0], cur: &sandbox.ContainerStatus{ID: "c-0", State: sandbox.StateRunning}}
			c.started.Store(true)
			c.ready.Store(true)
			w.ctrs["c"] = c
			st := w.status()
			var ready, containers *corev1.PodCondition
			kept := false
			for i := range st.Conditions {
				switch st.Conditions[i].Type {
				case corev1.PodReady:
					ready = &st.Conditions[i]
				case corev1.ContainersReady:
					containers = &st.Conditions[i]
				case "k8s.io/test-condition1":
					kept = true
				}
			}
			if ready.Status != tt.wantReady || ready.Message != tt.wantMessage {
				t.Errorf("Ready %s %q, want %s %q", ready.Status, ready.Message, tt.wantReady, tt.wantMessage)
			}
			if containers.Status != corev1.ConditionTrue {
				t.Errorf("ContainersReady %s: the gates do not touch it", containers.Status)
			}
			if kept != (len(tt.gate) > 0) {
				t.Errorf("the gate's own condition kept: %v, want %v", kept, len(tt.gate) > 0)
			}
		})
	}
}
