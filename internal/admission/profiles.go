package admission

import (
	admissionv1 "k8s.io/api/admission/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
)

// validateProfile answers /validate-fargateprofiles with the rules of
// package profile. Status codes: a profile that breaks its own rules, or
// changes its spec, is Invalid (422), like any invalid field; a valid
// profile refused because of the other profiles (the per-cluster limit, a
// deletion in progress) is Forbidden (403).
func (h *handler) validateProfile(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	// The status subresource belongs to the controller; spec changes
	// cannot come through it.
	if req.Resource.Group != v1.GroupName || req.Resource.Resource != v1.Plural || req.SubResource != "" {
		return allow()
	}
	switch req.Operation {
	case admissionv1.Create:
		return h.validateCreate(req)
	case admissionv1.Update:
		return validateUpdate(req)
	case admissionv1.Delete:
		return h.validateDelete(req)
	default:
		return allow()
	}
}

func (h *handler) validateCreate(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	p, resp := decodeProfile(req.Object.Raw, "object")
	if resp != nil {
		return resp
	}
	err := profile.ValidateCreate(p, h.src.ProfileList(), h.opts.MaxProfiles)
	switch {
	case err == nil:
		return allow()
	case profile.Validate(p) != nil:
		return invalid(err.Error())
	default:
		return forbidden(err.Error())
	}
}

func validateUpdate(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	old, resp := decodeProfile(req.OldObject.Raw, "oldObject")
	if resp != nil {
		return resp
	}
	updated, resp := decodeProfile(req.Object.Raw, "object")
	if resp != nil {
		return resp
	}
	if err := profile.ValidateUpdate(old, updated); err != nil {
		return invalid(err.Error())
	}
	return allow()
}

// validateDelete needs only the name. The apiserver sends the object being
// deleted as oldObject; should it not, the request names it.
func (h *handler) validateDelete(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	p := &v1.FargateProfile{}
	p.Name = req.Name
	if len(req.OldObject.Raw) > 0 {
		var resp *admissionv1.AdmissionResponse
		if p, resp = decodeProfile(req.OldObject.Raw, "oldObject"); resp != nil {
			return resp
		}
	}
	if err := profile.ValidateDelete(p, h.src.ProfileList()); err != nil {
		return forbidden(err.Error())
	}
	return allow()
}

// decodeProfile returns the profile in raw, or the response refusing a
// request whose field (object or oldObject) is missing or not a profile.
func decodeProfile(raw []byte, field string) (*v1.FargateProfile, *admissionv1.AdmissionResponse) {
	if len(raw) == 0 {
		return nil, badRequest("the admission request has no " + field)
	}
	p := &v1.FargateProfile{}
	if err := decodeObject(raw, p); err != nil {
		return nil, badRequest("decoding the FargateProfile in " + field + ": " + err.Error())
	}
	return p, nil
}
