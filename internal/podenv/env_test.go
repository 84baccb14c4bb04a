package podenv

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func ptr[T any](v T) *T { return &v }

func service(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: ip, Ports: ports},
	}
}

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// world is the cluster the env tests read from.
func world() []runtime.Object {
	return []runtime.Object{
		service("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
		service("default", "other", "10.96.0.9", corev1.ServicePort{Port: 80}),
		service("shop", "web-front", "10.96.0.20", corev1.ServicePort{Port: 80}, corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolUDP}),
		service("shop", "headless", "None", corev1.ServicePort{Port: 80}),
		configMap("shop", "settings", map[string]string{"MODE": "fast", "LEVEL": "3"}),
		secret("shop", "creds", map[string]string{"USER": "admin", "PASS": "s3cret"}),
	}
}

var masterVars = []string{
	"KUBERNETES_PORT=tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
	"KUBERNETES_PORT_443_TCP_PORT=443",
	"KUBERNETES_PORT_443_TCP_PROTO=tcp",
	"KUBERNETES_SERVICE_HOST=10.96.0.1",
	"KUBERNETES_SERVICE_PORT=443",
	"KUBERNETES_SERVICE_PORT_HTTPS=443",
}

var webFrontVars = []string{
	"WEB_FRONT_PORT=tcp://10.96.0.20:80",
	"WEB_FRONT_PORT_80_TCP=tcp://10.96.0.20:80",
	"WEB_FRONT_PORT_80_TCP_ADDR=10.96.0.20",
	"WEB_FRONT_PORT_80_TCP_PORT=80",
	"WEB_FRONT_PORT_80_TCP_PROTO=tcp",
	"WEB_FRONT_PORT_9090_UDP=udp://10.96.0.20:9090",
	"WEB_FRONT_PORT_9090_UDP_ADDR=10.96.0.20",
	"WEB_FRONT_PORT_9090_UDP_PORT=9090",
	"WEB_FRONT_PORT_9090_UDP_PROTO=udp",
	"WEB_FRONT_SERVICE_HOST=10.96.0.20",
	"WEB_FRONT_SERVICE_PORT=80",
	"WEB_FRONT_SERVICE_PORT_METRICS=9090",
}

func testPod(links *bool, c corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "uid-1",
			Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{EnableServiceLinks: links, NodeName: "fargate-ip-10-0-0-5",
			Containers: []corev1.Container{c}},
		Status: corev1.PodStatus{PodIP: "10.0.0.5"},
	}
}

func TestContainer(t *testing.T) {
	sortedServiceVars := slices.Sorted(slices.Values(append(slices.Clone(masterVars), webFrontVars...)))
	tests := []struct {
		name  string
		links *bool
		c     corev1.Container
		want  []string
	}{
		{
			name: "service links of own namespace and the master service, sorted",
			c:    corev1.Container{Name: "app"},
			want: sortedServiceVars,
		},
		{
			name:  "enableServiceLinks false keeps only the master service",
			links: ptr(false),
			c:     corev1.Container{Name: "app"},
			want:  masterVars,
		},
		{
			name:  "envFrom with prefix, sorted keys, then env in declaration order",
			links: ptr(false),
			c: corev1.Container{Name: "app",
				EnvFrom: []corev1.EnvFromSource{
					{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
				},
				Env: []corev1.EnvVar{{Name: "Z", Value: "last"}, {Name: "A", Value: "first"}},
			},
			want: append(slices.Clone(masterVars), "CFG_LEVEL=3", "CFG_MODE=fast", "PASS=s3cret", "USER=admin", "Z=last", "A=first"),
		},
		{
			name:  "env overrides envFrom and service vars and takes the later place",
			links: ptr(false),
			c: corev1.Container{Name: "app",
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				Env: []corev1.EnvVar{
					{Name: "MODE", Value: "slow"},
					{Name: "KUBERNETES_SERVICE_HOST", Value: "api.local"},
					{Name: "MODE", Value: "again"},
				},
			},
			want: append(slices.DeleteFunc(slices.Clone(masterVars), func(s string) bool { return s == "KUBERNETES_SERVICE_HOST=10.96.0.1" }),
				"LEVEL=3", "KUBERNETES_SERVICE_HOST=api.local", "MODE=again"),
		},
		{
			name:  "$(VAR) expands against earlier vars, envFrom and services only",
			links: ptr(false),
			c: corev1.Container{Name: "app",
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				Env: []corev1.EnvVar{
					{Name: "URL", Value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/$(MODE)"},
					{Name: "EARLY", Value: "$(LATE)-$(NOPE)"},
					{Name: "LATE", Value: "x"},
					{Name: "ESCAPED", Value: "$$(URL) $(URL)"},
					{Name: "EMPTY"},
				},
			},
			want: append(slices.Clone(masterVars), "LEVEL=3", "MODE=fast",
				"URL=https://10.96.0.1:443/fast", "EARLY=$(LATE)-$(NOPE)", "LATE=x",
				"ESCAPED=$(URL) https://10.96.0.1:443/fast", "EMPTY="),
		},
		{
			name:  "valueFrom refs, literal values from refs are not expanded",
			links: ptr(false),
			c: corev1.Container{Name: "app",
				Env: []corev1.EnvVar{
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
					{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
					{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "MODE"}}},
					{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "PASS"}}},
					{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
						Resource: "limits.memory", Divisor: mustQuantity("1Mi")}}},
				},
			},
			// No limit and no CapacityProvisioned annotation: the memory
			// limit reads as the size admission would give, 0.5 GB.
			want: append(slices.Clone(masterVars), "POD=web-1", "IP=10.0.0.5", "APP=web",
				"MODE=fast", "PW=s3cret", "MEM_MI=512"),
		},
		{
			name:  "optional refs to missing objects and keys are left out",
			links: ptr(false),
			c: corev1.Container{Name: "app",
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
				},
				Env: []corev1.EnvVar{
					{Name: "A", Value: "kept"},
					{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "nokey", Optional: ptr(true)}}},
					{Name: "B", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k", Optional: ptr(true)}}},
					{Name: "C", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "nokey", Optional: ptr(true)}}},
					{Name: "D", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k", Optional: ptr(true)}}},
				},
			},
			want: append(slices.Clone(masterVars), "A=kept"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := ClientSource(fake.NewClientset(world()...))
			pod := testPod(tt.links, tt.c)
			got, err := Container(context.Background(), pod, &pod.Spec.Containers[0], src)
			if err != nil {
				t.Fatalf("Container: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("env:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestContainerErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []corev1.EnvVar
		from []corev1.EnvFromSource
		want string
	}{
		{
			name: "missing configmap in envFrom",
			from: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}},
			want: `configmap "x" not found`,
		},
		{
			name: "missing secret in envFrom",
			from: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}},
			want: `secret "x" not found`,
		},
		{
			name: "missing configmap in configMapKeyRef",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Key: "k"}}}},
			want: `configmap "x" not found`,
		},
		{
			name: "missing key in configMapKeyRef",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "k"}}}},
			want: `couldn't find key k in ConfigMap shop/settings`,
		},
		{
			name: "missing secret in secretKeyRef",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Key: "k"}}}},
			want: `secret "x" not found`,
		},
		{
			name: "missing key in secretKeyRef",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}}},
			want: `couldn't find key k in Secret shop/creds`,
		},
		{
			name: "unsupported field",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "spec.hostname"}}}},
			want: `unsupported fieldPath: spec.hostname`,
		},
		{
			name: "resource of an unknown container",
			env: []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: "sidecar", Resource: "limits.cpu"}}}},
			want: `container sidecar not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := ClientSource(fake.NewClientset(world()...))
			pod := testPod(nil, corev1.Container{Name: "app", Env: tt.env, EnvFrom: tt.from})
			_, err := Container(context.Background(), pod, &pod.Spec.Containers[0], src)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestContainerMasterServiceWithoutLinksInDefaultNamespace(t *testing.T) {
	src := ClientSource(fake.NewClientset(world()...))
	pod := testPod(ptr(false), corev1.Container{Name: "app"})
	pod.Namespace = "default"
	got, err := Container(context.Background(), pod, &pod.Spec.Containers[0], src)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, masterVars) {
		t.Errorf("env = %q, want only the master service's %q", got, masterVars)
	}
}

func fakeWorld() *fake.Clientset { return fake.NewClientset(world()...) }
