package metricsapi

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	apiregistrationv1ac "k8s.io/kube-aggregator/pkg/client/applyconfiguration/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

const (
	namespace   = "kube-system"
	serviceName = "metrics-server"
	// APIServiceName is the APIService that routes metrics.k8s.io here.
	APIServiceName = "v1beta1.metrics.k8s.io"
	fieldManager   = "fargo-metricsapi"
	servicePort    = 443
)

var apply = metav1.ApplyOptions{FieldManager: fieldManager, Force: true}

// install applies, with server-side apply so that a restart with a new
// address or CA updates them, the objects metrics-server's upstream
// manifest makes: its RBAC, the Service and the APIService. The Service
// has no selector (metrics-server runs here, not in a pod); an
// EndpointSlice points it at this machine.
func install(ctx context.Context, cfg Config, caBundle []byte) error {
	cs, err := kubernetes.NewForConfig(cfg.Admin)
	if err != nil {
		return err
	}
	agg, err := aggregator.NewForConfig(cfg.Admin)
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return applyRBAC(ctx, cs) },
		func() error { return applyService(ctx, cs, cfg) },
		func() error {
			_, err := agg.ApiregistrationV1().APIServices().Apply(ctx, apiService(caBundle), apply)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("metrics API: register metrics.k8s.io: %w", err)
		}
	}
	return nil
}

func applyRBAC(ctx context.Context, cs kubernetes.Interface) error {
	rbac := cs.RbacV1()
	// Read nodes and pods, and scrape the kubelets' /metrics/resource.
	reader := rbacv1ac.ClusterRole("system:metrics-server").WithLabels(labels()).WithRules(
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("nodes/metrics").WithVerbs("get"),
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods", "nodes").WithVerbs("get", "list", "watch"))
	// Who may view a namespace may `kubectl top` it.
	aggregated := rbacv1ac.ClusterRole("system:aggregated-metrics-reader").WithLabels(labels()).
		WithLabels(map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-view":  "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
		}).WithRules(rbacv1ac.PolicyRule().WithAPIGroups("metrics.k8s.io").
		WithResources("pods", "nodes").WithVerbs("get", "list", "watch"))
	for _, role := range []*rbacv1ac.ClusterRoleApplyConfiguration{reader, aggregated} {
		if _, err := rbac.ClusterRoles().Apply(ctx, role, apply); err != nil {
			return err
		}
	}
	user := rbacv1ac.Subject().WithKind("User").WithAPIGroup("rbac.authorization.k8s.io").WithName(UserName)
	for name, role := range map[string]string{
		"system:metrics-server":                "system:metrics-server",
		"metrics-server:system:auth-delegator": "system:auth-delegator",
	} {
		b := rbacv1ac.ClusterRoleBinding(name).WithLabels(labels()).WithSubjects(user).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(role))
		if _, err := rbac.ClusterRoleBindings().Apply(ctx, b, apply); err != nil {
			return err
		}
	}
	// Read the front-proxy CA and request-header settings, to trust the
	// aggregator's proxied requests.
	authReader := rbacv1ac.RoleBinding("metrics-server-auth-reader", namespace).WithLabels(labels()).WithSubjects(user).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName("extension-apiserver-authentication-reader"))
	_, err := rbac.RoleBindings(namespace).Apply(ctx, authReader, apply)
	return err
}

func applyService(ctx context.Context, cs kubernetes.Interface, cfg Config) error {
	svc := corev1ac.Service(serviceName, namespace).WithLabels(labels()).WithSpec(corev1ac.ServiceSpec().
		WithPorts(corev1ac.ServicePort().WithName("https").WithProtocol(corev1.ProtocolTCP).
			WithPort(servicePort).WithTargetPort(intstr.FromInt32(int32(cfg.Port)))))
	if _, err := cs.CoreV1().Services(namespace).Apply(ctx, svc, apply); err != nil {
		return err
	}
	family := discoveryv1.AddressTypeIPv4
	if cfg.Address.To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	slice := discoveryv1ac.EndpointSlice(serviceName+"-fargo", namespace).
		WithLabels(labels()).
		WithLabels(map[string]string{
			discoveryv1.LabelServiceName: serviceName,
			discoveryv1.LabelManagedBy:   fieldManager,
		}).
		WithAddressType(family).
		WithEndpoints(discoveryv1ac.Endpoint().WithAddresses(cfg.Address.String()).
			WithConditions(discoveryv1ac.EndpointConditions().WithReady(true))).
		WithPorts(discoveryv1ac.EndpointPort().WithName("https").WithProtocol(corev1.ProtocolTCP).WithPort(int32(cfg.Port)))
	_, err := cs.DiscoveryV1().EndpointSlices(namespace).Apply(ctx, slice, apply)
	return err
}

func apiService(caBundle []byte) *apiregistrationv1ac.APIServiceApplyConfiguration {
	return apiregistrationv1ac.APIService(APIServiceName).WithLabels(labels()).WithSpec(
		apiregistrationv1ac.APIServiceSpec().
			WithService(apiregistrationv1ac.ServiceReference().WithNamespace(namespace).WithName(serviceName).WithPort(servicePort)).
			WithGroup("metrics.k8s.io").WithVersion("v1beta1").
			WithCABundle(caBundle...).
			WithGroupPriorityMinimum(100).WithVersionPriority(100))
}

func labels() map[string]string { return map[string]string{"k8s-app": "metrics-server"} }

// waitAuthorized waits until the apiserver's authorizer grants
// metrics-server what its start needs: reading the front-proxy settings
// (extension-apiserver-authentication) and listing nodes.
func waitAuthorized(ctx context.Context, admin *rest.Config) error {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	checks := []authorizationv1.ResourceAttributes{
		{Namespace: namespace, Verb: "get", Resource: "configmaps", Name: "extension-apiserver-authentication"},
		{Verb: "list", Resource: "nodes"},
		{Verb: "get", Resource: "nodes", Subresource: "metrics"},
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, attrs := range checks {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: UserName, ResourceAttributes: &attrs}}
			got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil || !got.Status.Allowed {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("metrics API: RBAC for %s not in force after a minute: %w", UserName, err)
	}
	return nil
}
