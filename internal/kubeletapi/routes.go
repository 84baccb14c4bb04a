package kubeletapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/apis/core/v1/validation"
	"k8s.io/utils/ptr"
)

// routes maps the kubelet's paths to their handlers, all behind the
// kubelet's authentication and authorisation.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("GET /pods", s.pods)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.containerLogs)
	for _, p := range []string{"/exec/{ns}/{pod}/{container}", "/exec/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, s.exec)
	}
	for _, p := range []string{"/attach/{ns}/{pod}/{container}", "/attach/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, s.attach)
	}
	for _, p := range []string{"/portForward/{ns}/{pod}", "/portForward/{ns}/{pod}/{uid}"} {
		mux.HandleFunc(p, s.portForward)
	}
	mux.HandleFunc("GET /stats/summary", s.statsSummary)
	mux.HandleFunc("GET /metrics", s.kubeletMetrics)
	mux.HandleFunc("GET /metrics/resource", s.resourceMetrics)
	mux.HandleFunc("GET /metrics/cadvisor", s.cadvisorMetrics)
	return s.authorized(mux)
}

// nodeOf is the pod-node the request's connection was for.
func (s *server) nodeOf(r *http.Request) (string, bool) {
	ip, ok := destination(r.Context())
	if !ok {
		return "", false
	}
	node, _, ok := s.cfg.Pods.PodNodeAt(ip)
	return node, ok
}

// podOf returns the pod-node's pod when it is the one the request names:
// a kubelet knows only its own pods.
func (s *server) podOf(r *http.Request) (*corev1.Pod, bool) {
	ip, ok := destination(r.Context())
	if !ok {
		return nil, false
	}
	_, pod, ok := s.cfg.Pods.PodNodeAt(ip)
	if !ok || pod.Namespace != r.PathValue("ns") || pod.Name != r.PathValue("pod") {
		return nil, false
	}
	if uid := r.PathValue("uid"); uid != "" && types.UID(uid) != pod.UID {
		return nil, false
	}
	return pod, true
}

// thisPod is the pod-node's pod, for the paths that name none.
func (s *server) thisPod(r *http.Request) (string, *corev1.Pod, bool) {
	ip, ok := destination(r.Context())
	if !ok {
		return "", nil, false
	}
	return s.cfg.Pods.PodNodeAt(ip)
}

// pods answers /pods: the PodList of the pod-node, as a kubelet does.
func (s *server) pods(w http.ResponseWriter, r *http.Request) {
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	if _, pod, ok := s.thisPod(r); ok {
		list.Items = append(list.Items, *pod)
	}
	writeJSON(w, list)
}

// containerLogs answers /containerLogs/NS/POD/CONTAINER with the query of
// `kubectl logs` (PodLogOptions), with the kubelet's errors.
func (s *server) containerLogs(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	if tail := query.Get("tail"); tail != "" {
		query["tailLines"] = []string{tail}
		if tail == "all" {
			delete(query, "tailLines")
		}
	}
	opts := &corev1.PodLogOptions{}
	if err := parameterCodec.DecodeParameters(query, corev1.SchemeGroupVersion, opts); err != nil {
		http.Error(w, `{"message": "Unable to decode query."}`, http.StatusBadRequest)
		return
	}
	if opts.Stream == nil {
		opts.Stream = ptr.To(corev1.LogStreamAll)
	}
	opts.TypeMeta = metav1.TypeMeta{}
	if errs := validation.ValidatePodLogOptions(opts); len(errs) > 0 {
		http.Error(w, `{"message": "Invalid request."}`, http.StatusUnprocessableEntity)
		return
	}
	pod, ok := s.podOf(r)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %q does not exist", r.PathValue("pod")), http.StatusNotFound)
		return
	}
	name := r.PathValue("container")
	if !hasContainer(pod, name) {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", name, pod.Name), http.StatusNotFound)
		return
	}
	s.writeLogs(w, r, pod, name, opts)
}

// hasContainer reports whether name is one of the pod's containers.
func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// parameterCodec decodes v1 query parameters (PodLogOptions) the way the
// kubelet's legacy scheme does.
var parameterCodec = func() runtime.ParameterCodec {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	return runtime.NewParameterCodec(scheme)
}()
