package clusterdns

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	namespace = metav1.NamespaceSystem
	// ServiceName is the cluster DNS Service, named as in every cluster.
	ServiceName  = "kube-dns"
	fieldManager = "fargo-clusterdns"
	sliceName    = ServiceName + "-fargo"
)

var apply = metav1.ApplyOptions{FieldManager: fieldManager, Force: true}

func labels() map[string]string {
	return map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"}
}

// applyRBAC lets CoreDNS's kubernetes plugin watch what it answers from.
func applyRBAC(ctx context.Context, cs kubernetes.Interface) error {
	role := rbacv1ac.ClusterRole(UserName).WithLabels(labels()).WithRules(
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("endpoints", "services", "pods", "namespaces").WithVerbs("list", "watch"),
		rbacv1ac.PolicyRule().WithAPIGroups("discovery.k8s.io").WithResources("endpointslices").WithVerbs("list", "watch"))
	if _, err := cs.RbacV1().ClusterRoles().Apply(ctx, role, apply); err != nil {
		return err
	}
	binding := rbacv1ac.ClusterRoleBinding(UserName).WithLabels(labels()).
		WithSubjects(rbacv1ac.Subject().WithKind("User").WithAPIGroup("rbac.authorization.k8s.io").WithName(UserName)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(UserName))
	_, err := cs.RbacV1().ClusterRoleBindings().Apply(ctx, binding, apply)
	return err
}

// service is kube-dns as a real cluster has it, without a selector: the
// DNS server is this process, which the EndpointSlice names.
func service(cfg Config) *corev1ac.ServiceApplyConfiguration {
	port := func(name string, proto corev1.Protocol) *corev1ac.ServicePortApplyConfiguration {
		return corev1ac.ServicePort().WithName(name).WithProtocol(proto).WithPort(53).WithTargetPort(intstr.FromInt32(int32(cfg.Port)))
	}
	return corev1ac.Service(ServiceName, namespace).WithLabels(labels()).WithSpec(corev1ac.ServiceSpec().
		WithClusterIP(cfg.ClusterIP.String()).
		WithPorts(port("dns", corev1.ProtocolUDP), port("dns-tcp", corev1.ProtocolTCP)))
}

// endpointSlice points kube-dns at this server's address, ready or not.
func endpointSlice(cfg Config, ready bool) *discoveryv1ac.EndpointSliceApplyConfiguration {
	port := func(name string, proto corev1.Protocol) *discoveryv1ac.EndpointPortApplyConfiguration {
		return discoveryv1ac.EndpointPort().WithName(name).WithProtocol(proto).WithPort(int32(cfg.Port))
	}
	return discoveryv1ac.EndpointSlice(sliceName, namespace).WithLabels(labels()).
		WithLabels(map[string]string{discoveryv1.LabelServiceName: ServiceName, discoveryv1.LabelManagedBy: fieldManager}).
		WithAddressType(discoveryv1.AddressTypeIPv4).
		WithEndpoints(discoveryv1ac.Endpoint().WithAddresses(cfg.Address.String()).
			WithConditions(discoveryv1ac.EndpointConditions().WithReady(ready))).
		WithPorts(port("dns", corev1.ProtocolUDP), port("dns-tcp", corev1.ProtocolTCP))
}

// applyService applies kube-dns, refusing to take over one whose ClusterIP
// (immutable) is not --cluster-dns.
func applyService(ctx context.Context, cs kubernetes.Interface, cfg Config) error {
	have, err := cs.CoreV1().Services(namespace).Get(ctx, ServiceName, metav1.GetOptions{})
	if err == nil && have.Spec.ClusterIP != cfg.ClusterIP.String() {
		return fmt.Errorf("cluster DNS: Service %s/%s has ClusterIP %s, not --cluster-dns %s: pass --cluster-dns %s, or delete the Service",
			namespace, ServiceName, have.Spec.ClusterIP, cfg.ClusterIP, have.Spec.ClusterIP)
	}
	_, err = cs.CoreV1().Services(namespace).Apply(ctx, service(cfg), apply)
	return err
}

func applySlice(ctx context.Context, cs kubernetes.Interface, cfg Config, ready bool) error {
	_, err := cs.DiscoveryV1().EndpointSlices(namespace).Apply(ctx, endpointSlice(cfg, ready), apply)
	return err
}
