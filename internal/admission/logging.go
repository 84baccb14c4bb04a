package admission

import (
	"errors"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/fargo-dev/fargo/internal/awslogging"
)

// validateLoggingConfig answers /validate-aws-logging: an aws-logging
// ConfigMap in the labelled aws-observability namespace that logging
// would refuse is refused at apply time, with the reasons pods would get,
// as EKS refuses it. Other ConfigMaps pass (the webhook's selectors and
// match condition send only this one; the handler checks again).
func (h *handler) validateLoggingConfig(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Resource.Resource != "configmaps" || req.Namespace != awslogging.Namespace || req.SubResource != "" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allow()
	}
	var cm corev1.ConfigMap
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(req.Object.Raw, &cm); err != nil {
		return badRequest("object is not a ConfigMap: " + err.Error())
	}
	if cm.Name != awslogging.ConfigMapName {
		return allow()
	}
	err := awslogging.ValidateConfigMap(&cm, h.opts.Logging)
	var inv *awslogging.InvalidError
	switch {
	case err == nil:
		return allow()
	case errors.As(err, &inv):
		return invalid(err.Error() + ": pods would run without log routing; fix the configmap")
	default:
		return invalid(err.Error())
	}
}
