package sizing

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// list builds a ResourceList from "name=quantity" pairs.
func list(pairs ...string) corev1.ResourceList {
	if len(pairs) == 0 {
		return nil
	}
	l := corev1.ResourceList{}
	for _, p := range pairs {
		name, q, _ := strings.Cut(p, "=")
		l[corev1.ResourceName(name)] = resource.MustParse(q)
	}
	return l
}

func requests(pairs ...string) corev1.Container {
	return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: list(pairs...)}}
}

func limits(pairs ...string) corev1.Container {
	return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Limits: list(pairs...)}}
}

func sidecar(c corev1.Container) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func pod(init []corev1.Container, containers ...corev1.Container) *corev1.PodSpec {
	return &corev1.PodSpec{InitContainers: init, Containers: containers}
}

// TestForPodEveryRow asks, for each combination, for exactly its vCPU and
// its memory minus the 256 MiB overhead: the combination itself must win.
func TestForPodEveryRow(t *testing.T) {
	for _, r := range specRows() {
		t.Run(r.text, func(t *testing.T) {
			spec := pod(nil, requests(
				fmt.Sprintf("cpu=%dm", r.milliCPU),
				fmt.Sprintf("memory=%dMi", r.memoryMiB-MemoryOverheadMiB)))
			got, err := ForPod(spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != r.text {
				t.Errorf("ForPod = %s, want %s", got, r.text)
			}
		})
	}
}

func TestForPod(t *testing.T) {
	cases := []struct {
		name string
		spec *corev1.PodSpec
		want string
	}{
		{"spec example 500m/500Mi", pod(nil, requests("cpu=500m", "memory=500Mi")), "0.5vCPU 1GB"},
		{"spec example 1 CPU/8Gi", pod(nil, requests("cpu=1", "memory=8Gi")), "2vCPU 9GB"},
		{"nothing requested", pod(nil, corev1.Container{Name: "c"}), "0.25vCPU 0.5GB"},
		{"nil spec", nil, "0.25vCPU 0.5GB"},
		{"no containers", &corev1.PodSpec{}, "0.25vCPU 0.5GB"},
		{"one byte over a row", pod(nil, requests("cpu=250m", fmt.Sprintf("memory=%d", 256<<20+1))), "0.25vCPU 1GB"},
		{"one millicore over a row", pod(nil, requests("cpu=251m")), "0.5vCPU 1GB"},
		{"nano CPU rounds up", pod(nil, requests("cpu=1n")), "0.25vCPU 0.5GB"},
		{"memory alone raises vCPU", pod(nil, requests("memory=10Gi")), "2vCPU 11GB"},
		{"memory between steps of 8 vCPU", pod(nil, requests("cpu=8", "memory=17Gi")), "8vCPU 20GB"},
		{"memory between steps of 16 vCPU", pod(nil, requests("cpu=9", "memory=33Gi")), "16vCPU 40GB"},
		{"cpu alone", pod(nil, requests("cpu=3")), "4vCPU 8GB"},
		{"exactly the largest", pod(nil, requests("cpu=16", "memory=122624Mi")), "16vCPU 120GB"},
		{"decimal memory units", pod(nil, requests("memory=500M")), "0.25vCPU 1GB"},
		{"limits only", pod(nil, limits("cpu=2", "memory=4Gi")), "2vCPU 5GB"},
		{"request wins over limit", pod(nil, corev1.Container{Resources: corev1.ResourceRequirements{
			Requests: list("cpu=250m", "memory=256Mi"), Limits: list("cpu=4", "memory=16Gi")}}), "0.25vCPU 0.5GB"},
		{"limit counts per resource", pod(nil, corev1.Container{Resources: corev1.ResourceRequirements{
			Requests: list("cpu=250m"), Limits: list("cpu=4", "memory=3Gi")}}), "0.5vCPU 4GB"},
		{"regular containers are summed", pod(nil,
			requests("cpu=500m", "memory=1Gi"), requests("cpu=500m", "memory=1Gi"), limits("cpu=1", "memory=1Gi")),
			"2vCPU 4GB"},
		{"init container larger than sum", pod(
			[]corev1.Container{requests("cpu=4", "memory=1Gi"), requests("cpu=1", "memory=20Gi")},
			requests("cpu=250m", "memory=256Mi"), requests("cpu=250m", "memory=256Mi")),
			"4vCPU 21GB"},
		{"sum larger than init", pod(
			[]corev1.Container{requests("cpu=1", "memory=1Gi")},
			requests("cpu=1", "memory=2Gi"), requests("cpu=1", "memory=2Gi")),
			"2vCPU 5GB"},
		{"init and sum mixed per resource", pod(
			[]corev1.Container{requests("cpu=2", "memory=512Mi")},
			requests("cpu=500m", "memory=3Gi")),
			"2vCPU 4GB"},
		{"sidecar adds to the sum", pod(
			[]corev1.Container{sidecar(requests("cpu=1", "memory=1Gi"))},
			requests("cpu=1", "memory=1Gi")),
			"2vCPU 4GB"},
		{"sidecar runs beside later init containers", pod(
			[]corev1.Container{sidecar(requests("cpu=1", "memory=1Gi")), requests("cpu=2", "memory=1Gi")},
			requests("cpu=250m", "memory=256Mi")),
			"4vCPU 8GB"},
		{"sidecar does not run beside earlier init containers", pod(
			[]corev1.Container{requests("cpu=2", "memory=1Gi"), sidecar(requests("cpu=1", "memory=1Gi"))},
			requests("cpu=250m", "memory=256Mi")),
			"2vCPU 4GB"},
		{"pod-level requests replace containers", &corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Requests: list("cpu=4", "memory=8Gi")},
			Containers: []corev1.Container{requests("cpu=1", "memory=1Gi")}},
			"4vCPU 9GB"},
		{"pod-level limit per resource", &corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Limits: list("cpu=2")},
			Containers: []corev1.Container{requests("cpu=1", "memory=5Gi")}},
			"2vCPU 6GB"},
		{"overhead is not added", &corev1.PodSpec{
			Overhead:   list("cpu=1", "memory=1Gi"),
			Containers: []corev1.Container{requests("cpu=250m", "memory=256Mi")}},
			"0.25vCPU 0.5GB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForPod(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("ForPod = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestForPodTooLarge(t *testing.T) {
	cases := []struct {
		name string
		spec *corev1.PodSpec
		want string
	}{
		{"17 CPU", pod(nil, requests("cpu=17")),
			"pod requests 17vCPU, more than the Fargate maximum of 16vCPU"},
		{"121 GB", pod(nil, requests("memory=121Gi")),
			"pod requests 121.25GB memory (including 256MiB overhead), more than the Fargate maximum of 120GB"},
		{"120 GB plus overhead", pod(nil, requests("memory=120Gi")),
			"pod requests 120.25GB memory (including 256MiB overhead), more than the Fargate maximum of 120GB"},
		{"both", pod(nil, requests("cpu=16001m", "memory=200Gi")),
			"pod requests 16.001vCPU, more than the Fargate maximum of 16vCPU; " +
				"pod requests 200.25GB memory (including 256MiB overhead), more than the Fargate maximum of 120GB"},
		{"sum of containers", pod(nil, requests("cpu=10"), requests("cpu=10")),
			"pod requests 20vCPU, more than the Fargate maximum of 16vCPU"},
		{"init container", pod([]corev1.Container{limits("cpu=32")}, requests("cpu=1")),
			"pod requests 32vCPU, more than the Fargate maximum of 16vCPU"},
		{"absurd quantity", pod(nil, requests("cpu=1E20")),
			"pod requests 100e18 vCPU, more than the Fargate maximum of 16vCPU"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForPod(tc.spec)
			if err == nil {
				t.Fatalf("ForPod = %s, want an error", got)
			}
			var tooLarge *TooLargeError
			if !errors.As(err, &tooLarge) {
				t.Errorf("error %T is not a *TooLargeError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error text\n got %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

func TestResources(t *testing.T) {
	cases := []struct {
		size        Size
		cpu, memory string
	}{
		{Size{250, 512}, "250m", "512Mi"},
		{Size{1000, 2048}, "1", "2Gi"},
		{Size{16000, 120 * 1024}, "16", "120Gi"},
	}
	for _, tc := range cases {
		t.Run(tc.size.String(), func(t *testing.T) {
			got := Resources(tc.size)
			if len(got) != 2 {
				t.Errorf("Resources has %d entries, want 2", len(got))
			}
			if q := got[corev1.ResourceCPU]; q.String() != tc.cpu {
				t.Errorf("cpu = %s, want %s", q.String(), tc.cpu)
			}
			if q := got[corev1.ResourceMemory]; q.String() != tc.memory {
				t.Errorf("memory = %s, want %s", q.String(), tc.memory)
			}
		})
	}
}
