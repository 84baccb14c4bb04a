package admission

import (
	"bytes"
	"encoding/json"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// What a pod a profile takes is given (spec section 2). The priority is
// the value of the built-in system-node-critical class; the Priority
// admission plugin has already run when the webhook is called, so both
// must be set here, and set consistently.
const (
	SchedulerName           = podnode.SchedulerName
	PriorityClassName       = "system-node-critical"
	Priority          int32 = 2000001000
)

// podView is the part of a pod that matching reads. Decoding only this,
// and keeping spec raw, is what makes a pod no profile takes cheap: most
// pods are not Fargate pods, and admission sees every one of them.
type podView struct {
	Metadata *podMetadata    `json:"metadata"`
	Spec     json.RawMessage `json:"spec"`
}

type podMetadata struct {
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// hasSpec tells an absent or null spec from an object; the patch must
// create the former.
func (p *podView) hasSpec() bool {
	return len(p.Spec) > 0 && !bytes.Equal(p.Spec, []byte("null"))
}

// mutatePod answers /mutate-pods.
func (h *handler) mutatePod(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if !isPodCreate(req) {
		return allow()
	}
	if len(req.Object.Raw) == 0 {
		return badRequest("the admission request has no object")
	}
	var pod podView
	if err := decodeObject(req.Object.Raw, &pod); err != nil {
		return badRequest("decoding the pod: " + err.Error())
	}
	name, ok := h.match(req, &pod)
	if !ok {
		return allow()
	}
	return h.take(&pod, name)
}

// isPodCreate is true for the creation of a pod itself. pods/eviction and
// pods/binding are CREATEs too, of other objects, and must pass unchanged.
func isPodCreate(req *admissionv1.AdmissionRequest) bool {
	return req.Operation == admissionv1.Create &&
		req.Resource.Group == "" && req.Resource.Resource == "pods" &&
		req.SubResource == ""
}

// match asks the index which profile takes the pod. Pods created by
// controllers often carry no namespace in the object; the request's
// namespace is the one the pod is created in, so it wins.
func (h *handler) match(req *admissionv1.AdmissionRequest, pod *podView) (string, bool) {
	index := h.src.Profiles()
	if index == nil {
		return "", false
	}
	meta := metav1.ObjectMeta{Namespace: req.Namespace}
	if pod.Metadata != nil {
		meta.Labels, meta.Annotations = pod.Metadata.Labels, pod.Metadata.Annotations
		if meta.Namespace == "" {
			meta.Namespace = pod.Metadata.Namespace
		}
	}
	return index.Match(&corev1.Pod{ObjectMeta: meta})
}

// take sizes a pod the profile named takes, and patches it.
func (h *handler) take(pod *podView, profileName string) *admissionv1.AdmissionResponse {
	var spec corev1.PodSpec
	if pod.hasSpec() {
		if err := decodeObject(pod.Spec, &spec); err != nil {
			return badRequest("decoding the pod spec: " + err.Error())
		}
	}
	size, err := sizing.ForPod(&spec)
	if err != nil {
		return forbidden("pod does not fit any Fargate size: " + err.Error())
	}
	patch, err := json.Marshal(podPatch(pod, profileName, size.String(), h.src.Logging().Annotation))
	if err != nil {
		// Strings and an int32 only; this cannot happen.
		return badRequest("encoding the patch: " + err.Error())
	}
	return allowPatched(patch)
}

// decodeObject decodes as the apiserver does: field names are case
// sensitive. The patch is applied to the JSON the apiserver sent, so what
// is read here must be what the patch finds there.
func decodeObject(raw []byte, into any) error {
	return sigsjson.UnmarshalCaseSensitivePreserveInts(raw, into)
}
