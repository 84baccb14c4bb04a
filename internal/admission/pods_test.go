package admission

import (
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// podSources holds the profiles of the pod tests: two take every pod in
// default (fp-default wins alphabetically), one takes web pods in team-*
// namespaces, and a CREATING one takes nothing yet.
func podSources() *fakeSources {
	return newFakeSources(
		activeProfile("fp-default", selector("default", nil)),
		activeProfile("fp-other", selector("default", nil)),
		activeProfile("fp-teams", selector("team-*", map[string]string{"app": "web"})),
		profileIn("CREATING", "fp-new", selector("new", nil)),
	)
}

func newPod(namespace string, labels, annotations map[string]string, containers ...corev1.Container) *corev1.Pod {
	if len(containers) == 0 {
		containers = []corev1.Container{requesting("500m", "500Mi")}
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: namespace, Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func requesting(cpu, memory string) corev1.Container {
	return corev1.Container{Name: "app", Image: "nginx", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
	}}
}

func TestMutatePodPatch(t *testing.T) {
	h := NewHandler(podSources(), Options{})
	req := podCreate("default", newPod("default", map[string]string{"app": "web"}, nil))
	resp := review(t, h, MutatePodsPath, req)
	if !resp.Allowed {
		t.Fatalf("denied: %v", resp.Result)
	}
	want := `[` +
		`{"op":"add","path":"/metadata/labels/eks.amazonaws.com~1fargate-profile","value":"fp-default"},` +
		`{"op":"add","path":"/metadata/annotations","value":{"CapacityProvisioned":"0.5vCPU 1GB","Logging":"LoggingEnabled"}},` +
		`{"op":"add","path":"/spec/schedulerName","value":"fargate-scheduler"},` +
		`{"op":"add","path":"/spec/priorityClassName","value":"system-node-critical"},` +
		`{"op":"add","path":"/spec/priority","value":2000001000}]`
	if string(resp.Patch) != want {
		t.Errorf("patch\n%s\nwant\n%s", resp.Patch, want)
	}
	pod := patchedPod(t, req, resp)
	assertFargatePod(t, pod, "fp-default", "0.5vCPU 1GB", "LoggingEnabled")
	if pod.Labels["app"] != "web" {
		t.Errorf("label app lost: %v", pod.Labels)
	}
}

func TestMutatePodTaken(t *testing.T) {
	tests := []struct {
		name      string
		namespace string // of the request
		pod       *corev1.Pod
		logging   string // the Logging decision's annotation; "" for enabled
		profile   string
		size      string
		check     func(t *testing.T, pod *corev1.Pod)
	}{
		{name: "alphabetically first profile", namespace: "default", pod: newPod("default", nil, nil),
			profile: "fp-default", size: "0.5vCPU 1GB"},
		{name: "override label picks its profile", namespace: "default",
			pod:     newPod("default", map[string]string{profile.LabelFargateProfile: "fp-other"}, nil),
			profile: "fp-other", size: "0.5vCPU 1GB"},
		{name: "wildcard namespace and label", namespace: "team-a", pod: newPod("team-a", map[string]string{"app": "web"}, nil),
			profile: "fp-teams", size: "0.5vCPU 1GB"},
		{name: "namespace from the request when the object has none", namespace: "team-a",
			pod: newPod("", map[string]string{"app": "web"}, nil), profile: "fp-teams", size: "0.5vCPU 1GB"},
		{name: "labels and annotations created when absent", namespace: "default", pod: newPod("default", nil, nil),
			profile: "fp-default", size: "0.5vCPU 1GB",
			check: func(t *testing.T, pod *corev1.Pod) {
				if len(pod.Labels) != 1 || len(pod.Annotations) != 2 {
					t.Errorf("labels %v, annotations %v", pod.Labels, pod.Annotations)
				}
			}},
		{name: "existing labels and annotations preserved, CapacityProvisioned overwritten", namespace: "default",
			pod: newPod("default", map[string]string{"app": "web", "tier": "front"},
				map[string]string{"team": "a", profile.AnnotationCapacityProvisioned: "16vCPU 120GB", "a/b~c": "kept"}),
			profile: "fp-default", size: "0.5vCPU 1GB",
			check: func(t *testing.T, pod *corev1.Pod) {
				if pod.Labels["app"] != "web" || pod.Labels["tier"] != "front" || pod.Annotations["team"] != "a" || pod.Annotations["a/b~c"] != "kept" {
					t.Errorf("user metadata lost: labels %v, annotations %v", pod.Labels, pod.Annotations)
				}
			}},
		{name: "user scheduler and priority class overwritten", namespace: "default",
			pod: func() *corev1.Pod {
				p := newPod("default", nil, nil)
				p.Spec.SchedulerName, p.Spec.PriorityClassName = "my-scheduler", "low"
				p.Spec.Priority = new(int32)
				return p
			}(),
			profile: "fp-default", size: "0.5vCPU 1GB"},
		{name: "nothing requested", namespace: "default", pod: newPod("default", nil, nil, corev1.Container{Name: "app", Image: "busybox"}),
			profile: "fp-default", size: "0.25vCPU 0.5GB"},
		{name: "1 CPU 8Gi", namespace: "default", pod: newPod("default", nil, nil, requesting("1", "8Gi")),
			profile: "fp-default", size: "2vCPU 9GB"},
		{name: "logging disabled", namespace: "default", pod: newPod("default", nil, nil),
			logging: awslogging.AnnotationConfigMapMissing, profile: "fp-default", size: "0.5vCPU 1GB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := podSources()
			if tt.logging != "" {
				src.logging = awslogging.Decision{Annotation: tt.logging}
			}
			req := podCreate(tt.namespace, tt.pod)
			resp := review(t, NewHandler(src, Options{}), MutatePodsPath, req)
			if !resp.Allowed {
				t.Fatalf("denied: %v", resp.Result)
			}
			want := tt.logging
			if want == "" {
				want = awslogging.AnnotationEnabled
			}
			pod := patchedPod(t, req, resp)
			assertFargatePod(t, pod, tt.profile, tt.size, want)
			if tt.check != nil {
				tt.check(t, pod)
			}
		})
	}
}

func assertFargatePod(t *testing.T, pod *corev1.Pod, profileName, size, loggingAnnotation string) {
	t.Helper()
	if got := pod.Labels[profile.LabelFargateProfile]; got != profileName {
		t.Errorf("profile label %q, want %q", got, profileName)
	}
	if got := pod.Annotations[profile.AnnotationCapacityProvisioned]; got != size {
		t.Errorf("CapacityProvisioned %q, want %q", got, size)
	}
	if got := pod.Annotations[profile.AnnotationLogging]; got != loggingAnnotation {
		t.Errorf("Logging %q, want %q", got, loggingAnnotation)
	}
	if pod.Spec.SchedulerName != "fargate-scheduler" || pod.Spec.PriorityClassName != "system-node-critical" {
		t.Errorf("schedulerName %q, priorityClassName %q", pod.Spec.SchedulerName, pod.Spec.PriorityClassName)
	}
	if pod.Spec.Priority == nil || *pod.Spec.Priority != 2000001000 {
		t.Errorf("priority %v, want 2000001000", pod.Spec.Priority)
	}
	if len(pod.Spec.Containers) == 0 {
		t.Errorf("containers lost")
	}
}

func TestMutatePodUntouched(t *testing.T) {
	eviction := podCreate("default", newPod("default", nil, nil))
	eviction.SubResource = "eviction"
	eviction.Object = raw(map[string]any{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": map[string]any{"name": "web-1"}})
	update := podCreate("default", newPod("default", nil, nil))
	update.Operation = admissionv1.Update
	configMap := podCreate("default", newPod("default", nil, nil))
	configMap.Resource = metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	noIndex := podSources()
	noIndex.index = nil

	tests := []struct {
		name string
		src  *fakeSources
		req  *admissionv1.AdmissionRequest
	}{
		{"namespace no profile names", podSources(), podCreate("kube-system", newPod("kube-system", nil, nil))},
		{"labels do not match", podSources(), podCreate("team-a", newPod("team-a", map[string]string{"app": "db"}, nil))},
		{"opted out with compute-type ec2", podSources(),
			podCreate("default", newPod("default", nil, map[string]string{profile.AnnotationComputeType: "ec2"}))},
		{"override label naming a profile that does not select the pod", podSources(),
			podCreate("default", newPod("default", map[string]string{profile.LabelFargateProfile: "fp-teams"}, nil))},
		{"override label naming no profile", podSources(),
			podCreate("default", newPod("default", map[string]string{profile.LabelFargateProfile: "nope"}, nil))},
		{"profile not ACTIVE yet", podSources(), podCreate("new", newPod("new", nil, nil))},
		{"no index yet", noIndex, podCreate("default", newPod("default", nil, nil))},
		{"pod UPDATE", podSources(), update},
		{"eviction subresource", podSources(), eviction},
		{"not a pod", podSources(), configMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := review(t, NewHandler(tt.src, Options{}), MutatePodsPath, tt.req)
			if !resp.Allowed || resp.Patch != nil || resp.PatchType != nil || resp.Result != nil {
				t.Errorf("want allowed without patch, got %+v (patch %s)", resp, resp.Patch)
			}
		})
	}
}

func TestMutatePodDenied(t *testing.T) {
	tooLarge := newPod("default", nil, nil, requesting("17", "1Gi"))
	_, sizeErr := sizing.ForPod(&tooLarge.Spec)
	if sizeErr == nil {
		t.Fatal("17 vCPU fits a Fargate size?")
	}
	badSpec := podCreate("default", nil)
	badSpec.Object.Raw = []byte(`{"metadata":{"namespace":"default"},"spec":{"containers":"nginx"}}`)
	badMeta := podCreate("default", nil)
	badMeta.Object.Raw = []byte(`{"metadata":{"labels":["app"]}}`)
	noObject := podCreate("default", nil)

	tests := []struct {
		name    string
		req     *admissionv1.AdmissionRequest
		code    int32
		message string
	}{
		{"too large for any size", podCreate("default", tooLarge), http.StatusForbidden,
			"pod does not fit any Fargate size: " + sizeErr.Error()},
		{"spec of a taken pod does not decode", badSpec, http.StatusBadRequest, "decoding the pod spec: "},
		{"metadata does not decode", badMeta, http.StatusBadRequest, "decoding the pod: "},
		{"no object", noObject, http.StatusBadRequest, "the admission request has no object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := review(t, NewHandler(podSources(), Options{}), MutatePodsPath, tt.req)
			if resp.Allowed || resp.Patch != nil || resp.Result == nil {
				t.Fatalf("want denied without patch, got %+v", resp)
			}
			if resp.Result.Code != tt.code || !strings.HasPrefix(resp.Result.Message, tt.message) {
				t.Errorf("got %d %q, want %d %q", resp.Result.Code, resp.Result.Message, tt.code, tt.message)
			}
		})
	}
}

// A pod object without metadata or spec cannot come from the apiserver,
// but the patch must still apply to it: parents are created whole.
func TestMutatePodPatchCreatesParents(t *testing.T) {
	tests := []struct {
		name   string
		object string
	}{
		{"no metadata", `{"spec":{"containers":[{"name":"a"}]}}`},
		{"null metadata", `{"metadata":null,"spec":{}}`},
		{"no spec", `{"metadata":{"namespace":"default"}}`},
		{"null spec", `{"metadata":{"labels":null,"annotations":null},"spec":null}`},
		{"empty maps", `{"metadata":{"labels":{},"annotations":{}},"spec":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := podCreate("default", nil)
			req.Object.Raw = []byte(tt.object)
			resp := review(t, NewHandler(podSources(), Options{}), MutatePodsPath, req)
			if !resp.Allowed {
				t.Fatalf("denied: %v", resp.Result)
			}
			pod := patchedPod(t, req, resp)
			if pod.Labels[profile.LabelFargateProfile] != "fp-default" || pod.Annotations[profile.AnnotationCapacityProvisioned] != "0.25vCPU 0.5GB" ||
				pod.Spec.SchedulerName != SchedulerName || pod.Spec.Priority == nil {
				t.Errorf("patched pod: %+v", pod)
			}
		})
	}
}

func TestEscapePointer(t *testing.T) {
	for in, want := range map[string]string{
		"eks.amazonaws.com/fargate-profile": "eks.amazonaws.com~1fargate-profile",
		"a~b":                               "a~0b",
		"~/":                                "~0~1",
		"~1":                                "~01",
		"plain":                             "plain",
	} {
		t.Run(in, func(t *testing.T) {
			if got := escapePointer(in); got != want {
				t.Errorf("escapePointer(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
