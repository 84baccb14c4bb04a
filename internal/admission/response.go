package admission

import (
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// allow lets the request through unchanged.
func allow() *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true}
}

// allowPatched lets the request through with a JSON patch applied.
func allowPatched(patch []byte) *admissionv1.AdmissionResponse {
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt}
}

// deny refuses the request. The apiserver shows message to the user as
// `admission webhook "NAME" denied the request: MESSAGE`, with code as the
// HTTP status of the user's request.
func deny(code int32, reason metav1.StatusReason, message string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		Allowed: false,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Message: message,
			Reason:  reason,
			Code:    code,
		},
	}
}

func badRequest(message string) *admissionv1.AdmissionResponse {
	return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, message)
}

func forbidden(message string) *admissionv1.AdmissionResponse {
	return deny(http.StatusForbidden, metav1.StatusReasonForbidden, message)
}

func invalid(message string) *admissionv1.AdmissionResponse {
	return deny(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, message)
}
