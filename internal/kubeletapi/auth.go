package kubeletapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
)

// NewAuth returns the authenticator and authorizer a kubelet builds from
// its default configuration: x509 client certificates against clientCA,
// bearer tokens through TokenReview, and every request authorised
// through SubjectAccessReview; no anonymous access.
func NewAuth(cs kubernetes.Interface, clientCAPEM []byte) (authenticator.Request, authorizer.Authorizer, error) {
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", clientCAPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("kubelet API: client CA: %w", err)
	}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:            cs.AuthenticationV1(),
		TokenAccessReviewTimeout:           10 * time.Second,
		WebhookRetryBackoff:                options.DefaultAuthWebhookRetryBackoff(),
		CacheTTL:                           2 * time.Minute,
		ClientCertificateCAContentProvider: ca,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("kubelet API: authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: cs.AuthorizationV1(),
		AllowCacheTTL:             5 * time.Minute,
		DenyCacheTTL:              30 * time.Second,
		WebhookRetryBackoff:       options.DefaultAuthWebhookRetryBackoff(),
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("kubelet API: authorizer: %w", err)
	}
	return authn, authz, nil
}

// authorized wraps next with the kubelet's checks: 401 without valid
// credentials, 403 unless the user may act on the pod-node's subresource.
func (s *server) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, ok, err := s.cfg.Authn.AuthenticateRequest(r)
		if err != nil || !ok {
			if err != nil {
				s.log.V(2).Info("Unable to authenticate the request", "err", err)
			}
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		node, ok := s.nodeOf(r)
		if !ok {
			http.Error(w, "no pod-node at this address", http.StatusNotFound)
			return
		}
		attrs := requestAttributes(resp.User, node, r)
		for _, a := range attrs {
			decision, _, err := s.cfg.Authz.Authorize(r.Context(), a)
			if err != nil {
				s.log.Error(err, "Authorization error", "user", a.User.GetName(), "verb", a.Verb, "subresource", a.Subresource)
				http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=%s, subresource=%s)",
					a.User.GetName(), a.Verb, a.Resource, a.Subresource), http.StatusInternalServerError)
				return
			}
			if decision == authorizer.DecisionAllow {
				next.ServeHTTP(w, r)
				return
			}
		}
		subs := make([]string, 0, len(attrs))
		for _, a := range attrs {
			subs = append(subs, a.Subresource)
		}
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource(s)=%v)",
			resp.User.GetName(), attrs[0].Verb, attrs[0].Resource, subs), http.StatusForbidden)
	})
}

// requestAttributes are the kubelet's: verb from the method, resource
// nodes, the node's name, and the subresource from the path (stats,
// metrics, log, pods or healthz, else proxy); a request passes when any
// of them is allowed.
func requestAttributes(u user.Info, node string, r *http.Request) []authorizer.AttributesRecord {
	verb := map[string]string{
		http.MethodPost: "create", http.MethodGet: "get", http.MethodPut: "update",
		http.MethodPatch: "patch", http.MethodDelete: "delete",
	}[r.Method]
	var subs []string
	switch p := r.URL.Path; {
	case isSubpath(p, "/pods"), isSubpath(p, "/runningpods"):
		subs = []string{"pods", "proxy"}
	case isSubpath(p, "/healthz"):
		subs = []string{"healthz", "proxy"}
	case isSubpath(p, "/stats"):
		subs = []string{"stats"}
	case isSubpath(p, "/metrics"):
		subs = []string{"metrics"}
	case isSubpath(p, "/logs"):
		subs = []string{"log"}
	default:
		subs = []string{"proxy"}
	}
	attrs := make([]authorizer.AttributesRecord, 0, len(subs))
	for _, sub := range subs {
		attrs = append(attrs, authorizer.AttributesRecord{
			User: u, Verb: verb, APIVersion: "v1", Resource: "nodes", Subresource: sub,
			Name: node, ResourceRequest: true, Path: r.URL.Path,
		})
	}
	return attrs
}

func isSubpath(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}
