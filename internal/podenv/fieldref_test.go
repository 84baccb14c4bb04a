package podenv

import (
	"testing"

	"github.com/fargo-dev/fargo/internal/profile"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func fieldPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "web-1", UID: "0f6c-uid",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": `say "hi"`, "example.com/Owner": "me"},
		},
		Spec: corev1.PodSpec{NodeName: "fargate-ip-10-0-0-5.eu-west-1.compute.internal", ServiceAccountName: "runner"},
		Status: corev1.PodStatus{
			HostIP: "10.0.0.5", HostIPs: []corev1.HostIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
			PodIP: "10.0.0.5", PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
		},
	}
}

func TestFieldRef(t *testing.T) {
	tests := []struct {
		path, want, wantErr string
	}{
		{path: "metadata.name", want: "web-1"},
		{path: "metadata.namespace", want: "shop"},
		{path: "metadata.uid", want: "0f6c-uid"},
		{path: "metadata.labels['app']", want: "web"},
		{path: "metadata.labels['missing']", want: ""},
		{path: "metadata.annotations['example.com/Owner']", want: "me"},
		{path: "metadata.labels", want: "app=\"web\"\ntier=\"front\""},
		{path: "metadata.annotations", want: "example.com/Owner=\"me\"\nnote=\"say \\\"hi\\\"\""},
		{path: "spec.nodeName", want: "fargate-ip-10-0-0-5.eu-west-1.compute.internal"},
		{path: "spec.serviceAccountName", want: "runner"},
		{path: "status.hostIP", want: "10.0.0.5"},
		{path: "status.hostIPs", want: "10.0.0.5,fd00::5"},
		{path: "status.podIP", want: "10.0.0.5"},
		{path: "status.podIPs", want: "10.0.0.5,fd00::5"},
		{path: "metadata.labels['bad key!']", wantErr: "invalid key subscript in metadata.labels['bad key!']: "},
		{path: "metadata.name['x']", wantErr: `fieldPath "metadata.name['x']" does not support subscript`},
		{path: "status.phase", wantErr: "unsupported fieldPath: status.phase"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FieldRef(fieldPod(), tt.path)
			if tt.wantErr != "" {
				if err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr {
					t.Fatalf("error = %v, want it to start with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FieldRef = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFieldRefPodIPWithoutList(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.7", HostIP: "10.0.0.7"}}
	for _, path := range []string{"status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs"} {
		t.Run(path, func(t *testing.T) {
			if got, err := FieldRef(pod, path); err != nil || got != "10.0.0.7" {
				t.Errorf("FieldRef(%s) = %q, %v; want 10.0.0.7", path, got, err)
			}
		})
	}
}

func resourcePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{profile.AnnotationCapacityProvisioned: "1vCPU 2GB"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("100m")}}}},
			Containers: []corev1.Container{
				{Name: "app", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU: mustQuantity("250m"), corev1.ResourceMemory: mustQuantity("300Mi"),
						corev1.ResourceEphemeralStorage: mustQuantity("1Gi")},
					Limits: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("1500m"), corev1.ResourceMemory: mustQuantity("1Gi")},
				}},
				{Name: "bare"},
			},
		},
	}
}

func TestResourceFieldRef(t *testing.T) {
	const podCPU, podMem = 1000, 2 << 30
	tests := []struct {
		name      string
		container string
		ref       corev1.ResourceFieldSelector
		want      string
		wantErr   string
	}{
		{name: "limits.cpu rounds up to cores", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.cpu"}, want: "2"},
		{name: "limits.cpu in millicores", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: mustQuantity("1m")}, want: "1500"},
		{name: "limits.memory in bytes", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.memory"}, want: "1073741824"},
		{name: "limits.memory divisor 1Mi", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: mustQuantity("1Mi")}, want: "1024"},
		{name: "limits.memory divisor 1G rounds up", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: mustQuantity("1G")}, want: "2"},
		{name: "requests.cpu", container: "app", ref: corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: mustQuantity("1m")}, want: "250"},
		{name: "requests.memory divisor 1Mi", container: "app", ref: corev1.ResourceFieldSelector{Resource: "requests.memory", Divisor: mustQuantity("1Mi")}, want: "300"},
		{name: "requests.ephemeral-storage divisor 1Gi", container: "app", ref: corev1.ResourceFieldSelector{Resource: "requests.ephemeral-storage", Divisor: mustQuantity("1Gi")}, want: "1"},
		{name: "missing cpu limit is the pod's vCPU", container: "bare", ref: corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: mustQuantity("1m")}, want: "1000"},
		{name: "missing memory limit is the pod's memory", container: "bare", ref: corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: mustQuantity("1Mi")}, want: "2048"},
		{name: "missing ephemeral limit is the sandbox disk", container: "bare", ref: corev1.ResourceFieldSelector{Resource: "limits.ephemeral-storage", Divisor: mustQuantity("1Gi")}, want: "20"},
		{name: "missing request is 0", container: "bare", ref: corev1.ResourceFieldSelector{Resource: "requests.memory"}, want: "0"},
		{name: "containerName picks another container", container: "bare", ref: corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: mustQuantity("1Mi")}, want: "1024"},
		{name: "init containers are found", container: "bare", ref: corev1.ResourceFieldSelector{ContainerName: "init", Resource: "limits.cpu", Divisor: mustQuantity("1m")}, want: "100"},
		{name: "unknown container", container: "nope", ref: corev1.ResourceFieldSelector{Resource: "limits.cpu"}, wantErr: "container nope not found"},
		{name: "unknown resource", container: "app", ref: corev1.ResourceFieldSelector{Resource: "limits.gpu"}, wantErr: "unsupported container resource : limits.gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResourceFieldRef(resourcePod(), tt.container, &tt.ref, podCPU, podMem)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ResourceFieldRef = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestContainerResourceEnvUsesProvisionedSize(t *testing.T) {
	pod := resourcePod()
	c := &pod.Spec.Containers[1]
	c.Env = []corev1.EnvVar{{Name: "CPUS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
		Resource: "limits.cpu", Divisor: mustQuantity("1m")}}}}
	pod.Spec.EnableServiceLinks = ptr(false)
	got, err := Container(t.Context(), pod, c, ClientSource(fakeWorld()))
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; last != "CPUS=1000" {
		t.Errorf("last var = %q, want CPUS=1000 from CapacityProvisioned 1vCPU 2GB", last)
	}
}
