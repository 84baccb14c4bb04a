package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
)

// fakeSources is what the server's informers would give.
type fakeSources struct {
	profiles []v1.FargateProfile
	index    *profile.Index
	logging  awslogging.Decision
}

func newFakeSources(profiles ...v1.FargateProfile) *fakeSources {
	return &fakeSources{
		profiles: profiles,
		index:    profile.NewIndex(profiles),
		logging:  awslogging.Decision{Annotation: awslogging.AnnotationEnabled},
	}
}

func (f *fakeSources) Profiles() *profile.Index         { return f.index }
func (f *fakeSources) ProfileList() []v1.FargateProfile { return f.profiles }
func (f *fakeSources) Logging() awslogging.Decision     { return f.logging }

func activeProfile(name string, selectors ...v1.Selector) v1.FargateProfile {
	return profileIn(v1.StateActive, name, selectors...)
}

func profileIn(state v1.ProfileState, name string, selectors ...v1.Selector) v1.FargateProfile {
	return v1.FargateProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.FargateProfileSpec{Selectors: selectors},
		Status:     v1.FargateProfileStatus{Status: state},
	}
}

func selector(namespace string, labels map[string]string) v1.Selector {
	return v1.Selector{Namespace: namespace, Labels: labels}
}

// request is an admission request with a fixed uid; cases change the rest.
func request(op admissionv1.Operation, resource metav1.GroupVersionResource, object, oldObject any) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{
		UID:       types.UID("0f6c5b4e-uid"),
		Resource:  resource,
		Operation: op,
		Object:    raw(object),
		OldObject: raw(oldObject),
	}
}

var (
	podsResource     = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	profilesResource = metav1.GroupVersionResource{Group: v1.GroupName, Version: v1.Version, Resource: v1.Plural}
)

// podCreate is the review the apiserver sends for a new pod in namespace.
func podCreate(namespace string, pod *corev1.Pod) *admissionv1.AdmissionRequest {
	req := request(admissionv1.Create, podsResource, pod, nil)
	req.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	req.Namespace = namespace
	return req
}

func raw(object any) runtime.RawExtension {
	if object == nil {
		return runtime.RawExtension{}
	}
	b, err := json.Marshal(object)
	if err != nil {
		panic(err)
	}
	return runtime.RawExtension{Raw: b}
}

func reviewBody(t testing.TB, req *admissionv1.AdmissionRequest) []byte {
	t.Helper()
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to path and returns the recorded HTTP response.
func post(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	return rec
}

// review posts req and returns the AdmissionResponse, failing the test if
// the HTTP side or the envelope is not what the contract says.
func review(t testing.TB, h http.Handler, path string, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := post(h, path, reviewBody(t, req))
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	resp := decodeReviewResponse(t, rec)
	if resp.UID != req.UID {
		t.Errorf("response uid %q, want %q", resp.UID, req.UID)
	}
	return resp
}

func decodeReviewResponse(t testing.TB, rec *httptest.ResponseRecorder) *admissionv1.AdmissionResponse {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, rec.Body)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("response is not an admission.k8s.io/v1 AdmissionReview with a response: %s", rec.Body)
	}
	return out.Response
}

// applyPatch applies the response's JSON patch to the object in req.
func applyPatch(t testing.TB, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) []byte {
	t.Helper()
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patchType %v, want JSONPatch", resp.PatchType)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("patch is not a JSON patch: %v\n%s", err, resp.Patch)
	}
	out, err := patch.Apply(req.Object.Raw)
	if err != nil {
		t.Fatalf("patch does not apply: %v\npatch: %s\nobject: %s", err, resp.Patch, req.Object.Raw)
	}
	return out
}

func patchedPod(t testing.TB, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	if err := json.Unmarshal(applyPatch(t, req, resp), &pod); err != nil {
		t.Fatal(err)
	}
	return &pod
}
