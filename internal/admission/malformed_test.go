package admission

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMalformedRequests(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int    // HTTP status
		denial string // for 200: the denial message; "" for a plain-text answer
		uid    string // for 200: the uid the response must echo
	}{
		{name: "not JSON", body: "hello", status: http.StatusBadRequest},
		{name: "empty body", body: "", status: http.StatusBadRequest},
		{name: "truncated JSON", body: `{"apiVersion":"admission.k8s.io/v1",`, status: http.StatusBadRequest},
		{name: "JSON array", body: `[]`, status: http.StatusBadRequest},
		{name: "request of the wrong type", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":5}`, status: http.StatusBadRequest},
		{name: "uid of the wrong type", body: `{"request":{"uid":7}}`, status: http.StatusBadRequest},
		{name: "null", body: `null`, status: http.StatusOK,
			denial: `expected an AdmissionReview of admission.k8s.io/v1, got kind "" of apiVersion ""`},
		{name: "v1beta1", body: `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}`,
			status: http.StatusOK, uid: "u1",
			denial: `expected an AdmissionReview of admission.k8s.io/v1, got kind "AdmissionReview" of apiVersion "admission.k8s.io/v1beta1"`},
		{name: "wrong kind", body: `{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u2"}}`,
			status: http.StatusOK, uid: "u2",
			denial: `expected an AdmissionReview of admission.k8s.io/v1, got kind "Pod" of apiVersion "admission.k8s.io/v1"`},
		{name: "field names are case sensitive", body: `{"APIVERSION":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3"}}`,
			status: http.StatusOK, uid: "u3",
			denial: `expected an AdmissionReview of admission.k8s.io/v1, got kind "AdmissionReview" of apiVersion ""`},
		{name: "missing request", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
			status: http.StatusOK, denial: "the AdmissionReview has no request"},
		{name: "missing uid", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`,
			status: http.StatusOK, denial: "the admission request has no uid"},
		{name: "missing uid on the profile webhook", path: ValidateProfilesPath,
			body:   `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"DELETE"}}`,
			status: http.StatusOK, denial: "the admission request has no uid"},
		{name: "body over the limit", body: `{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, status: http.StatusRequestEntityTooLarge},
		{name: "GET", method: http.MethodGet, status: http.StatusMethodNotAllowed},
		{name: "unknown path", path: "/mutate", body: "{}", status: http.StatusNotFound},
	}
	h := NewHandler(podSources(), Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = MutatePodsPath
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader([]byte(tt.body))))
			if rec.Code != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
				return
			}
			resp := decodeReviewResponse(t, rec)
			if string(resp.UID) != tt.uid {
				t.Errorf("uid %q, want %q", resp.UID, tt.uid)
			}
			if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest || resp.Result.Message != tt.denial {
				t.Errorf("got %+v, want a 400 denial %q", resp.Result, tt.denial)
			}
		})
	}
}
