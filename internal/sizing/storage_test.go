package sizing

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestEphemeralStorage(t *testing.T) {
	const gib = int64(1) << 30
	const mib = int64(1) << 20
	cases := []struct {
		name string
		spec *corev1.PodSpec
		want int64
	}{
		{"nil spec", nil, 20 * gib},
		{"nothing requested", pod(nil, corev1.Container{Name: "c"}), 20 * gib},
		{"small request", pod(nil, requests("ephemeral-storage=1Gi")), 20 * gib},
		{"exactly the default", pod(nil, requests("ephemeral-storage=20Gi")), 20 * gib},
		{"one byte over the default", pod(nil, requests("ephemeral-storage=21474836481")),
			// 20Gi+1 + ceil(2Gi+0.1) + 5Gi, rounded up to a MiB
			27*gib + 1*mib},
		{"30Gi gets 10% and 5Gi", pod(nil, requests("ephemeral-storage=30Gi")), 38 * gib},
		{"rounded up to a MiB", pod(nil, requests("ephemeral-storage=21Gi")),
			// 21Gi*1.1 = 23654.4Mi, +5Gi = 28774.4Mi -> 28775Mi
			28775 * mib},
		{"sum of containers", pod(nil, requests("ephemeral-storage=15Gi"), requests("ephemeral-storage=15Gi")),
			38 * gib},
		{"limit counts when no request", pod(nil, limits("ephemeral-storage=30Gi")), 38 * gib},
		{"init container larger than sum", pod(
			[]corev1.Container{requests("ephemeral-storage=50Gi")},
			requests("ephemeral-storage=10Gi")),
			60 * gib},
		{"sum larger than init", pod(
			[]corev1.Container{requests("ephemeral-storage=25Gi")},
			requests("ephemeral-storage=20Gi"), requests("ephemeral-storage=20Gi")),
			49 * gib},
		{"sidecar counts in the sum", pod(
			[]corev1.Container{sidecar(requests("ephemeral-storage=20Gi"))},
			requests("ephemeral-storage=10Gi")),
			38 * gib},
		{"just under the cap", pod(nil, requests("ephemeral-storage=150Gi")), 170 * gib},
		{"capped after headroom", pod(nil, requests("ephemeral-storage=160Gi")), 175 * gib},
		{"capped at the cap", pod(nil, requests("ephemeral-storage=175Gi")), 175 * gib},
		{"capped far above", pod(nil, requests("ephemeral-storage=10Ti")), 175 * gib},
		{"capped absurd", pod(nil, requests("ephemeral-storage=1E30")), 175 * gib},
		{"cpu and memory do not count", pod(nil, requests("cpu=16", "memory=100Gi")), 20 * gib},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := EphemeralStorage(tc.spec)
			if got.Value() != tc.want {
				t.Errorf("EphemeralStorage = %s (%d), want %d", got.String(), got.Value(), tc.want)
			}
		})
	}
}

func TestEphemeralStorageText(t *testing.T) {
	got := EphemeralStorage(nil)
	if got.String() != "20Gi" {
		t.Errorf("default prints %q, want 20Gi", got.String())
	}
}
