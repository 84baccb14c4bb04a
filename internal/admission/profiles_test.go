package admission

import (
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

func TestValidateProfile(t *testing.T) {
	web := activeProfile("fp-web", selector("web", nil))
	db := activeProfile("fp-db", selector("db", nil))
	deleting := profileIn(v1.StateDeleting, "fp-old", selector("old", nil))
	retagged := web.DeepCopy()
	retagged.Labels = map[string]string{"owner": "me"}
	retagged.Status.Status = v1.StateDeleting
	reselected := web.DeepCopy()
	reselected.Spec.Selectors = []v1.Selector{selector("web", map[string]string{"app": "x"})}

	tests := []struct {
		name     string
		existing []v1.FargateProfile
		max      int
		req      *admissionv1.AdmissionRequest
		code     int32 // 0 means allowed
		reason   metav1.StatusReason
		message  string
	}{
		{name: "create valid", existing: []v1.FargateProfile{db},
			req: request(admissionv1.Create, profilesResource, web, nil)},
		{name: "create invalid name",
			req:  request(admissionv1.Create, profilesResource, activeProfile("eks-web", selector("web", nil)), nil),
			code: http.StatusUnprocessableEntity, reason: metav1.StatusReasonInvalid,
			message: `fargate profile "eks-web": name must not start with "eks-"`},
		{name: "create without selectors",
			req:  request(admissionv1.Create, profilesResource, activeProfile("fp-none"), nil),
			code: http.StatusUnprocessableEntity, reason: metav1.StatusReasonInvalid,
			message: `fargate profile "fp-none": has no selectors: at least 1 is required`},
		{name: "create over the limit", existing: []v1.FargateProfile{db, activeNamed("fp-x")}, max: 2,
			req:  request(admissionv1.Create, profilesResource, web, nil),
			code: http.StatusForbidden, reason: metav1.StatusReasonForbidden,
			message: `fargate profile "fp-web": the cluster has 2 Fargate profiles already: at most 2 Fargate profiles per cluster (set by --max-fargate-profiles); delete one first`},
		{name: "create with the default limit", existing: tenProfiles(),
			req:  request(admissionv1.Create, profilesResource, web, nil),
			code: http.StatusForbidden, reason: metav1.StatusReasonForbidden,
			message: `fargate profile "fp-web": the cluster has 10 Fargate profiles already: at most 10 Fargate profiles per cluster (set by --max-fargate-profiles); delete one first`},
		{name: "create while another is deleting", existing: []v1.FargateProfile{deleting},
			req:  request(admissionv1.Create, profilesResource, web, nil),
			code: http.StatusForbidden, reason: metav1.StatusReasonForbidden,
			message: `fargate profile "fp-web": cannot create while Fargate profile "fp-old" is DELETING: wait until the deletion finishes, then try again`},
		{name: "create invalid and over the limit is Invalid", existing: []v1.FargateProfile{db}, max: 1,
			req:  request(admissionv1.Create, profilesResource, activeProfile("eks-web", selector("web", nil)), nil),
			code: http.StatusUnprocessableEntity, reason: metav1.StatusReasonInvalid,
			message: `fargate profile "eks-web": name must not start with "eks-"; the cluster has 1 Fargate profiles already: at most 1 Fargate profiles per cluster (set by --max-fargate-profiles); delete one first`},
		{name: "update status and labels", existing: []v1.FargateProfile{web},
			req: request(admissionv1.Update, profilesResource, retagged, web)},
		{name: "update spec", existing: []v1.FargateProfile{web},
			req:  request(admissionv1.Update, profilesResource, reselected, web),
			code: http.StatusUnprocessableEntity, reason: metav1.StatusReasonInvalid,
			message: `fargate profile "fp-web": ` + v1.ImmutableMessage},
		{name: "delete", existing: []v1.FargateProfile{web, db},
			req: named(request(admissionv1.Delete, profilesResource, nil, web), "fp-web")},
		{name: "delete while another is deleting", existing: []v1.FargateProfile{web, deleting},
			req:  named(request(admissionv1.Delete, profilesResource, nil, web), "fp-web"),
			code: http.StatusForbidden, reason: metav1.StatusReasonForbidden,
			message: `fargate profile "fp-web": cannot delete while Fargate profile "fp-old" is DELETING: wait until the deletion finishes, then try again`},
		{name: "delete again while deleting", existing: []v1.FargateProfile{deleting},
			req: named(request(admissionv1.Delete, profilesResource, nil, deleting), "fp-old")},
		{name: "delete without oldObject uses the request name", existing: []v1.FargateProfile{web, deleting},
			req:  named(request(admissionv1.Delete, profilesResource, nil, nil), "fp-web"),
			code: http.StatusForbidden, reason: metav1.StatusReasonForbidden,
			message: `fargate profile "fp-web": cannot delete while Fargate profile "fp-old" is DELETING: wait until the deletion finishes, then try again`},
		{name: "status subresource is not checked", existing: []v1.FargateProfile{web},
			req: subresource(request(admissionv1.Update, profilesResource, reselected, web), "status")},
		{name: "other resource is not checked",
			req: request(admissionv1.Create, podsResource, activeProfile("eks-web"), nil)},
		{name: "CONNECT is not checked",
			req: request(admissionv1.Connect, profilesResource, nil, nil)},
		{name: "create without object",
			req:  request(admissionv1.Create, profilesResource, nil, nil),
			code: http.StatusBadRequest, reason: metav1.StatusReasonBadRequest,
			message: "the admission request has no object"},
		{name: "update without oldObject",
			req:  request(admissionv1.Update, profilesResource, web, nil),
			code: http.StatusBadRequest, reason: metav1.StatusReasonBadRequest,
			message: "the admission request has no oldObject"},
		{name: "object that is not a profile",
			req:  request(admissionv1.Create, profilesResource, map[string]any{"spec": map[string]any{"selectors": "web"}}, nil),
			code: http.StatusBadRequest, reason: metav1.StatusReasonBadRequest,
			message: "decoding the FargateProfile in object: json: cannot unmarshal string into Go struct field FargateProfileSpec.spec.selectors of type []v1.Selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSources(tt.existing...)
			resp := review(t, NewHandler(src, Options{MaxProfiles: tt.max}), ValidateProfilesPath, tt.req)
			if resp.Patch != nil {
				t.Errorf("validation returned a patch: %s", resp.Patch)
			}
			if tt.code == 0 {
				if !resp.Allowed || resp.Result != nil {
					t.Errorf("want allowed, got %+v", resp.Result)
				}
				return
			}
			if resp.Allowed || resp.Result == nil {
				t.Fatalf("want denied, got allowed")
			}
			got := resp.Result
			if got.Code != tt.code || got.Reason != tt.reason || got.Message != tt.message || got.Status != metav1.StatusFailure {
				t.Errorf("got %d %s %q\nwant %d %s %q", got.Code, got.Reason, got.Message, tt.code, tt.reason, tt.message)
			}
		})
	}
}

func activeNamed(name string) v1.FargateProfile {
	return activeProfile(name, selector(name, nil))
}

func tenProfiles() []v1.FargateProfile {
	var out []v1.FargateProfile
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		out = append(out, activeNamed("fp-"+n))
	}
	return out
}

func named(req *admissionv1.AdmissionRequest, name string) *admissionv1.AdmissionRequest {
	req.Name = name
	return req
}

func subresource(req *admissionv1.AdmissionRequest, sub string) *admissionv1.AdmissionRequest {
	req.SubResource = sub
	return req
}
