package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
)

// Paths of the two webhooks, for the handler and for the server's
// MutatingWebhookConfiguration and ValidatingWebhookConfiguration.
const (
	MutatePodsPath       = "/mutate-pods"
	ValidateProfilesPath = "/validate-fargateprofiles"
	ValidateLoggingPath  = "/validate-aws-logging"
)

// MaxBodyBytes caps a review. The apiserver takes request bodies up to
// 3 MiB and stores objects up to 1.5 MiB; a CREATE review wraps one object
// and an UPDATE review two, plus the request's own fields, so 4 MiB holds
// every review the apiserver can send.
const MaxBodyBytes = 4 << 20

// Sources is what the handler reads about the cluster. The server
// implements it from informers; every method must be safe for concurrent
// use and must not call the apiserver, since each call sits on the path of
// a user's request.
type Sources interface {
	// Profiles returns the index of the profiles that take pods, current
	// as of the call. It is called once per pod CREATE and must be cheap
	// (an atomic load, not a rebuild). nil means no profiles.
	Profiles() *profile.Index

	// ProfileList returns every FargateProfile in the cluster, in any
	// state (DELETING ones included: they lock creation and deletion). It
	// is called once per profile CREATE or DELETE; the handler does not
	// modify the slice.
	ProfileList() []v1.FargateProfile

	// Logging returns the logging decision for a pod starting now, i.e.
	// awslogging.Decide on the aws-observability namespace and aws-logging
	// ConfigMap. It is called only for pods a profile takes.
	Logging() awslogging.Decision
}

// Options tune the handler.
type Options struct {
	// MaxProfiles is the number of profiles a cluster may hold;
	// <= 0 means profile.DefaultMaxProfiles.
	MaxProfiles int
	// Logging are the cluster's aws-logging rules, for the ConfigMap's
	// apply-time validation.
	Logging awslogging.Options
}

// handler answers both webhooks.
type handler struct {
	src  Sources
	opts Options
}

// reviewFunc answers one well-formed admission request; answer fills in
// the uid.
type reviewFunc func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// NewHandler returns the webhook's HTTP handler. Only POST is served; other
// methods get 405 and other paths 404.
func NewHandler(src Sources, opts Options) http.Handler {
	h := &handler{src: src, opts: opts}
	mux := http.NewServeMux()
	mux.Handle("POST "+MutatePodsPath, serveReview(h.mutatePod))
	mux.Handle("POST "+ValidateProfilesPath, serveReview(h.validateProfile))
	mux.Handle("POST "+ValidateLoggingPath, serveReview(h.validateLoggingConfig))
	return mux
}

// serveReview does the HTTP side of the contract in the package comment.
func serveReview(review reviewFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			http.Error(w, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		var in admissionv1.AdmissionReview
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &in); err != nil {
			http.Error(w, "request body is not an AdmissionReview: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeReview(w, answer(&in, review))
	}
}

// readBody reads at most MaxBodyBytes, sized up front from Content-Length
// so that a review costs one buffer.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	return buf.Bytes(), err
}

// answer checks the envelope, then asks review and echoes the uid.
func answer(in *admissionv1.AdmissionReview, review reviewFunc) *admissionv1.AdmissionResponse {
	want := admissionv1.SchemeGroupVersion.String()
	var resp *admissionv1.AdmissionResponse
	switch {
	case in.APIVersion != want || in.Kind != "AdmissionReview":
		resp = badRequest(fmt.Sprintf("expected an AdmissionReview of %s, got kind %q of apiVersion %q", want, in.Kind, in.APIVersion))
	case in.Request == nil:
		resp = badRequest("the AdmissionReview has no request")
	case in.Request.UID == "":
		resp = badRequest("the admission request has no uid")
	default:
		resp = review(in.Request)
	}
	if in.Request != nil {
		resp.UID = in.Request.UID
	}
	return resp
}

func writeReview(w http.ResponseWriter, resp *admissionv1.AdmissionResponse) {
	out, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	})
	if err != nil {
		// Only strings, bools and bytes go in; this cannot happen.
		http.Error(w, "encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}
