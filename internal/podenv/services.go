package podenv

import (
	"context"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// masterService is the API server's service in the default namespace; its
// variables (KUBERNETES_SERVICE_HOST, ...) are in every container, since
// in-cluster clients find the API server through them.
const masterService = "kubernetes"

type envVar struct{ name, value string }

// serviceEnv returns the Docker-links style variables of the services a pod
// sees: those of its namespace when enableServiceLinks is unset or true,
// and always the master service, sorted by name.
func serviceEnv(ctx context.Context, pod *corev1.Pod, src Source) ([]envVar, error) {
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	byName := map[string]*corev1.Service{}
	defaults, err := src.Services(ctx, metav1.NamespaceDefault)
	if err != nil {
		return nil, servicesError{err}
	}
	if links {
		own := defaults
		if pod.Namespace != metav1.NamespaceDefault {
			if own, err = src.Services(ctx, pod.Namespace); err != nil {
				return nil, servicesError{err}
			}
		}
		for _, s := range own {
			if hasClusterIP(s) {
				byName[s.Name] = s
			}
		}
	}
	for _, s := range defaults {
		// A same-named service of the pod's own namespace wins over the
		// master service, as on a kubelet.
		if _, taken := byName[s.Name]; s.Name == masterService && !taken && hasClusterIP(s) {
			byName[s.Name] = s
		}
	}
	var vars []envVar
	for _, name := range sortedKeys(byName) {
		vars = append(vars, serviceVars(byName[name])...)
	}
	sort.SliceStable(vars, func(i, j int) bool { return vars[i].name < vars[j].name })
	return vars, nil
}

// servicesError keeps the kubelet's message and the cause.
type servicesError struct{ err error }

func (e servicesError) Error() string { return "failed to list services when setting up env vars" }
func (e servicesError) Unwrap() error { return e.err }

func hasClusterIP(s *corev1.Service) bool {
	ip := s.Spec.ClusterIP
	return ip != "" && ip != corev1.ClusterIPNone && len(s.Spec.Ports) > 0
}

// serviceVars gives FOO_SERVICE_HOST, FOO_SERVICE_PORT(_NAME) and the
// Docker link variables FOO_PORT, FOO_PORT_80_TCP(_PROTO|_PORT|_ADDR).
func serviceVars(s *corev1.Service) []envVar {
	prefix := envName(s.Name)
	ip := s.Spec.ClusterIP
	vars := []envVar{
		{prefix + "_SERVICE_HOST", ip},
		{prefix + "_SERVICE_PORT", strconv.Itoa(int(s.Spec.Ports[0].Port))},
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			vars = append(vars, envVar{prefix + "_SERVICE_PORT_" + envName(p.Name), strconv.Itoa(int(p.Port))})
		}
	}
	for i, p := range s.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		port := strconv.Itoa(int(p.Port))
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			vars = append(vars, envVar{prefix + "_PORT", url})
		}
		portPrefix := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		vars = append(vars,
			envVar{portPrefix, url},
			envVar{portPrefix + "_PROTO", strings.ToLower(proto)},
			envVar{portPrefix + "_PORT", port},
			envVar{portPrefix + "_ADDR", ip},
		)
	}
	return vars
}

func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
