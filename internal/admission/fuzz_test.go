package admission

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	sigsjson "sigs.k8s.io/json"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
)

// fuzzSources has a wildcard profile so that mutated inputs still reach
// the patching path, and a DELETING one for the profile rules.
func fuzzSources() *fakeSources {
	return newFakeSources(
		activeProfile("fp-default", selector("default", nil)),
		activeProfile("fp-star", selector("*", map[string]string{"f*": "?"})),
		profileIn(v1.StateDeleting, "fp-old", selector("old", nil)),
	)
}

// fuzzIndex answers which profile names a patch may write.
var fuzzIndex = fuzzSources().index

// FuzzHandler posts arbitrary bodies to either webhook and checks the
// response contract of the package comment.
func FuzzHandler(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed.toProfiles, seed.body)
	}
	h := NewHandler(fuzzSources(), Options{MaxProfiles: 3})
	f.Fuzz(func(t *testing.T, toProfiles bool, body []byte) {
		path := MutatePodsPath
		if toProfiles {
			path = ValidateProfilesPath
		}
		checkContract(t, path, body, post(h, path, body))
	})
}

type fuzzSeed struct {
	toProfiles bool
	body       []byte
}

func fuzzSeeds(tb testing.TB) []fuzzSeed {
	pod := newPod("default", map[string]string{"app": "web"}, map[string]string{"team": "a"})
	starPod := newPod("", map[string]string{"fx": "1"}, nil)
	big := newPod("default", nil, nil, requesting("17", "200Gi"))
	eviction := podCreate("default", pod)
	eviction.SubResource = "eviction"
	web := activeProfile("fp-web", selector("web", map[string]string{"app": "w*"}))
	changed := web.DeepCopy()
	changed.Spec.Subnets = []string{"10.0.0.0/20"}

	seeds := []fuzzSeed{
		{false, reviewBody(tb, podCreate("default", pod))},
		{false, reviewBody(tb, podCreate("team-a", starPod))},
		{false, reviewBody(tb, podCreate("kube-system", newPod("kube-system", nil, nil)))},
		{false, reviewBody(tb, podCreate("default", big))},
		{false, reviewBody(tb, eviction)},
		{true, reviewBody(tb, request(admissionv1.Create, profilesResource, web, nil))},
		{true, reviewBody(tb, request(admissionv1.Update, profilesResource, changed, web))},
		{true, reviewBody(tb, named(request(admissionv1.Delete, profilesResource, nil, web), "fp-web"))},
	}
	for _, garbage := range []string{
		"", "{", "null", "[]", `"x"`, `{"request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","resource":{"resource":"pods"},"namespace":"default","object":{"metadata":null}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","resource":{"resource":"pods"},"namespace":"default","object":{"metadata":{"labels":{"a/b~c":"d"}},"spec":null}}}`,
	} {
		seeds = append(seeds, fuzzSeed{false, []byte(garbage)}, fuzzSeed{true, []byte(garbage)})
	}
	return seeds
}

// checkContract is the package comment's contract, as assertions.
func checkContract(t *testing.T, path string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	var in admissionv1.AdmissionReview
	decodeErr := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &in)
	switch {
	case len(body) > MaxBodyBytes:
		wantPlain(t, rec, http.StatusRequestEntityTooLarge)
		return
	case decodeErr != nil:
		wantPlain(t, rec, http.StatusBadRequest)
		return
	case rec.Code != http.StatusOK:
		t.Fatalf("HTTP %d for a body that decodes: %s", rec.Code, rec.Body)
	}
	resp := decodeReviewResponse(t, rec)
	var wantUID string
	if in.Request != nil {
		wantUID = string(in.Request.UID)
	}
	if string(resp.UID) != wantUID {
		t.Errorf("uid %q, want %q", resp.UID, wantUID)
	}
	if resp.Allowed {
		checkAllowed(t, path, in.Request, resp)
	} else {
		checkDenied(t, resp)
	}
}

func wantPlain(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("got HTTP %d %q, want a plain-text %d", rec.Code, rec.Header().Get("Content-Type"), status)
	}
}

func checkDenied(t *testing.T, resp *admissionv1.AdmissionResponse) {
	t.Helper()
	if resp.Result == nil || resp.Result.Message == "" || resp.Patch != nil || resp.PatchType != nil {
		t.Fatalf("a denial needs a status with a message and no patch: %+v", resp)
	}
	switch resp.Result.Code {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusUnprocessableEntity:
	default:
		t.Errorf("denial code %d", resp.Result.Code)
	}
}

// checkAllowed: only pods are patched, and a patch applies to the object
// the request carried and makes it a Fargate pod of an indexed profile.
func checkAllowed(t *testing.T, path string, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) {
	t.Helper()
	if resp.Result != nil {
		t.Errorf("allowed with a status: %+v", resp.Result)
	}
	if resp.Patch == nil && resp.PatchType == nil {
		return
	}
	if path != MutatePodsPath || req == nil || req.Operation != admissionv1.Create {
		t.Fatalf("patch on %s for %+v", path, req)
	}
	var pod struct {
		Metadata struct {
			Labels      map[string]any `json:"labels"`
			Annotations map[string]any `json:"annotations"`
		} `json:"metadata"`
		Spec map[string]any `json:"spec"`
	}
	if err := json.Unmarshal(applyPatch(t, req, resp), &pod); err != nil {
		t.Fatalf("patched object: %v", err)
	}
	name, _ := pod.Metadata.Labels[profile.LabelFargateProfile].(string)
	if _, ok := fuzzIndex.Profile(name); !ok {
		t.Errorf("profile label %q names no indexed profile", name)
	}
	if pod.Metadata.Annotations[profile.AnnotationCapacityProvisioned] == nil || pod.Metadata.Annotations[profile.AnnotationLogging] == nil {
		t.Errorf("annotations missing: %v", pod.Metadata.Annotations)
	}
	if pod.Spec["schedulerName"] != SchedulerName || pod.Spec["priorityClassName"] != PriorityClassName || pod.Spec["priority"] != float64(Priority) {
		t.Errorf("spec not patched: %v", pod.Spec)
	}
}

// The seeds themselves must keep covering both outcomes.
func TestFuzzSeedsCoverPatchAndDenial(t *testing.T) {
	h := NewHandler(fuzzSources(), Options{MaxProfiles: 3})
	var patched, denied int
	for _, seed := range fuzzSeeds(t) {
		path := MutatePodsPath
		if seed.toProfiles {
			path = ValidateProfilesPath
		}
		rec := post(h, path, seed.body)
		checkContract(t, path, seed.body, rec)
		if rec.Code != http.StatusOK {
			continue
		}
		var out admissionv1.AdmissionReview
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if out.Response.Patch != nil {
			patched++
		}
		if !out.Response.Allowed {
			denied++
		}
	}
	if patched < 3 || denied < 3 {
		t.Errorf("seeds give %d patches and %d denials", patched, denied)
	}
}
