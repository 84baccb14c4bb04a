package podrunner

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

func TestPhase(t *testing.T) {
	running := &sandbox.ContainerStatus{State: sandbox.StateRunning}
	ok := &sandbox.ContainerStatus{State: sandbox.StateExited, ExitCode: 0, Reason: "Completed"}
	failed := &sandbox.ContainerStatus{State: sandbox.StateExited, ExitCode: 1, Reason: "Error"}
	tests := []struct {
		name     string
		policy   corev1.RestartPolicy
		initDone bool
		init     *sandbox.ContainerStatus // of the one init container; nil: none ran
		a, b     *sandbox.ContainerStatus // the two containers; nil: not started
		want     corev1.PodPhase
	}{
		{"nothing started", corev1.RestartPolicyAlways, true, nil, nil, nil, corev1.PodPending},
		{"init running", corev1.RestartPolicyAlways, false, running, nil, nil, corev1.PodPending},
		{"init failed, never restarted", corev1.RestartPolicyNever, false, failed, nil, nil, corev1.PodFailed},
		{"init failed, will restart", corev1.RestartPolicyOnFailure, false, failed, nil, nil, corev1.PodPending},
		{"one running", corev1.RestartPolicyAlways, true, ok, running, nil, corev1.PodRunning},
		{"both done, Always restarts", corev1.RestartPolicyAlways, true, ok, ok, ok, corev1.PodRunning},
		{"both done, OnFailure", corev1.RestartPolicyOnFailure, true, ok, ok, ok, corev1.PodSucceeded},
		{"one failed, OnFailure restarts", corev1.RestartPolicyOnFailure, true, ok, ok, failed, corev1.PodRunning},
		{"one failed, Never", corev1.RestartPolicyNever, true, ok, ok, failed, corev1.PodFailed},
		{"all succeeded, Never", corev1.RestartPolicyNever, true, ok, ok, ok, corev1.PodSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{
				RestartPolicy:  tt.policy,
				InitContainers: []corev1.Container{{Name: "init"}},
				Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
			}}
			w := &podWorker{pod: pod, initDone: tt.initDone, ctrs: map[string]*container{}}
			for name, st := range map[string]*sandbox.ContainerStatus{"init": tt.init, "a": tt.a, "b": tt.b} {
				if st != nil {
					w.ctrs[name] = &container{cur: st, init: name == "init"}
				}
			}
			if got := w.phase(); got != tt.want {
				t.Errorf("phase %s, want %s", got, tt.want)
			}
		})
	}
}
