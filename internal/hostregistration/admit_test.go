package hostregistration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAdmission: a pod a kubelet would refuse on a pod-node fails at once
// with the kubelet's reason and message, gets no first status (no IP) and
// no sandbox; the node's own pod is admitted.
func TestAdmission(t *testing.T) {
	own := testPod("web", "uid-web", "10.42.1.5")
	node := testNode(own, "10.42.1.5", testHost)
	withSysctl := func(name string) *corev1.Pod {
		p := testPod("web", "uid-web", "10.42.1.5")
		p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: name, Value: "1"}}}
		return p
	}
	windows := testPod("web", "uid-web", "10.42.1.5")
	windows.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	selector := testPod("web", "uid-web", "10.42.1.5")
	selector.Spec.NodeSelector = map[string]string{corev1.LabelOSStable: "windows"}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		wantReason  string
		wantMessage string
	}{
		{"the node's own pod", own, "", ""},
		{"a safe sysctl", withSysctl("kernel.shm_rmid_forced"), "", ""},
		{"a second pod on the node", testPod("other", "uid-other", "10.42.1.5"), "OutOfpods",
			"Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"},
		{"another OS", windows, "PodOSNotSupported", "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS"},
		{"an OS selector", selector, "PodOSSelectorNodeLabelDoesNotMatch", "Pod was rejected: Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"},
		{"an unsafe sysctl", withSysctl("kernel.msgmax"), "SysctlForbidden", `Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := &fakeSandboxes{}
			a, cs := newTestAgent(t, newClock(), sb, node, tt.pod)
			if err := a.syncPod(context.Background(), "game/"+tt.pod.Name); err != nil {
				t.Fatal(err)
			}
			got, err := cs.CoreV1().Pods("game").Get(context.Background(), tt.pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantReason == "" {
				if got.Status.Phase == corev1.PodFailed || len(sb.calls) != 1 {
					t.Fatalf("phase %q, sandbox calls %v: want the pod admitted and started", got.Status.Phase, sb.calls)
				}
				return
			}
			if got.Status.Phase != corev1.PodFailed || got.Status.Reason != tt.wantReason || got.Status.Message != tt.wantMessage {
				t.Errorf("status %s %q %q, want Failed %q %q", got.Status.Phase, got.Status.Reason, got.Status.Message, tt.wantReason, tt.wantMessage)
			}
			if got.Status.PodIP != "" || len(sb.calls) != 0 {
				t.Errorf("pod IP %q, sandbox calls %v: a rejected pod gets neither", got.Status.PodIP, sb.calls)
			}
			events, _ := cs.CoreV1().Events("game").List(context.Background(), metav1.ListOptions{})
			if len(events.Items) != 1 || events.Items[0].Reason != tt.wantReason || events.Items[0].Type != corev1.EventTypeWarning {
				t.Errorf("events %+v, want one Warning %s", events.Items, tt.wantReason)
			}
		})
	}
}
