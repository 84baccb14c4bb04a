package join

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/podnode"
)

// PolicyName names the ValidatingAdmissionPolicy, and its binding, that
// keep each host to its own objects. RBAC cannot: it grants by resource,
// not by whose object it is, and the Node authorizer and NodeRestriction
// only know kubelets (system:node:<name>).
const PolicyName = "fargo-host-restriction"

// Rule names, which start every denial message so that the refusal says
// which rule a host broke.
const (
	RuleOwnNodes  = "own-nodes"
	RuleOwnHost   = "own-host"
	RuleOwnLease  = "own-heartbeat-lease"
	ruleMsgPrefix = PolicyName + "/"
)

// The CEL of the policy. variables.host is the host's name, taken from its
// user name; it is empty for a member of HostGroup with another user name,
// and then every rule denies.
var (
	hostVariable = fmt.Sprintf(`request.userInfo.username.startsWith(%q) ? request.userInfo.username.substring(%d) : ""`,
		hostUserPrefix, len(hostUserPrefix))

	// nodeHostOf is the LabelHost label of a node, "" when absent.
	nodeHostOf = func(obj string) string {
		return fmt.Sprintf(`has(%[1]s.metadata.labels) && %[2]q in %[1]s.metadata.labels ? %[1]s.metadata.labels[%[2]q] : ""`,
			obj, podnode.LabelHost)
	}

	// An update must start and end on the host's own node, so that a host
	// can neither change another host's node nor take it over by relabelling.
	ownNodes = `request.resource.group != "" || request.resource.resource != "nodes" ||
  (variables.host != "" && variables.oldNodeHost == variables.host &&
   (request.operation == "DELETE" || variables.nodeHost == variables.host))`

	ownHost = fmt.Sprintf(`request.resource.group != %q || request.resource.resource != %q ||
  (variables.host != "" && object.metadata.name == variables.host)`, v1.GroupName, v1.HostPlural)

	ownLease = fmt.Sprintf(`request.resource.resource != "leases" || request.namespace != %q ||
  (variables.host != "" && (request.operation == "DELETE" ? oldObject : object).metadata.name == %q + variables.host)`,
		v1.SystemNamespace, v1.HostLeaseName(""))
)

// hostPolicy is the policy. Its match condition picks requests of
// HostGroup only; every field the apiserver would default is set, so that
// the stored policy equals this one and InstallServerObjects stays quiet.
func hostPolicy() *admissionregistrationv1.ValidatingAdmissionPolicy {
	rule := func(group string, ops []admissionregistrationv1.OperationType, resources ...string) admissionregistrationv1.NamedRuleWithOperations {
		return admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: ops,
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources,
				Scope: ptr.To(admissionregistrationv1.AllScopes),
			},
		}}
	}
	const create, update, del = admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{},
				ObjectSelector:    &metav1.LabelSelector{},
				MatchPolicy:       ptr.To(admissionregistrationv1.Equivalent),
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{
					rule("", []admissionregistrationv1.OperationType{update, del}, "nodes", "nodes/status"),
					rule(v1.GroupName, []admissionregistrationv1.OperationType{create, update}, v1.HostPlural, v1.HostPlural+"/status"),
					rule("coordination.k8s.io", []admissionregistrationv1.OperationType{create, update, del}, "leases"),
				},
			},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "fargo-hosts",
				Expression: fmt.Sprintf("%q in request.userInfo.groups", HostGroup),
			}},
			Variables: []admissionregistrationv1.Variable{
				{Name: "host", Expression: hostVariable},
				{Name: "oldNodeHost", Expression: `oldObject == null ? "" : (` + nodeHostOf("oldObject") + ")"},
				{Name: "nodeHost", Expression: `object == null ? "" : (` + nodeHostOf("object") + ")"},
			},
			Validations: []admissionregistrationv1.Validation{
				denyUnless(RuleOwnNodes, ownNodes,
					"a host may only change or delete nodes labelled "+podnode.LabelHost+"=<its name>",
					fmt.Sprintf(`" may only change or delete nodes labelled %s=" + variables.host`, podnode.LabelHost)),
				denyUnless(RuleOwnHost, ownHost,
					"a host may only create or change the Host of its own name",
					`" may only create or change Host " + variables.host`),
				denyUnless(RuleOwnLease, ownLease,
					fmt.Sprintf("a host may only write its own heartbeat Lease %s in %s", v1.HostLeaseName("<its name>"), v1.SystemNamespace),
					fmt.Sprintf(`" may only write Lease %s/%s" + variables.host`, v1.SystemNamespace, v1.HostLeaseName(""))),
			},
		},
	}
}

// denyUnless denies with "fargo-host-restriction/<rule>: <user> <what>",
// or message when that cannot be built.
func denyUnless(rule, expression, message, messageTail string) admissionregistrationv1.Validation {
	return admissionregistrationv1.Validation{
		Expression:        expression,
		Message:           ruleMsgPrefix + rule + ": " + message,
		MessageExpression: fmt.Sprintf(`%q + request.userInfo.username + %s`, ruleMsgPrefix+rule+": ", messageTail),
		Reason:            ptr.To(metav1.StatusReasonForbidden),
	}
}

func hostPolicyBinding() *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        PolicyName,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
}

func syncPolicy(have, want *admissionregistrationv1.ValidatingAdmissionPolicy) bool {
	if equality.Semantic.DeepEqual(have.Spec, want.Spec) {
		return false
	}
	have.Spec = want.Spec
	return true
}

func syncPolicyBinding(have, want *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
	if equality.Semantic.DeepEqual(have.Spec, want.Spec) {
		return false
	}
	have.Spec = want.Spec
	return true
}
