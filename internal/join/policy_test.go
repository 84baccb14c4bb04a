package join

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
)

// compilePolicy compiles p as the apiserver's ValidatingAdmissionPolicy
// plugin does (its compilePolicy is not exported), with the same CEL
// environment, so that the test runs the real CEL of the policy.
func compilePolicy(t *testing.T, p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	t.Helper()
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		t.Fatal(err)
	}
	vars := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	var variables []plugincel.NamedExpressionAccessor
	for _, v := range p.Spec.Variables {
		variables = append(variables, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	compiler.CompileAndStoreVariables(variables, vars, environment.StoredExpressions)
	var conditions []plugincel.ExpressionAccessor
	for i := range p.Spec.MatchConditions {
		conditions = append(conditions, (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i]))
	}
	matcher := matchconditions.NewMatcher(compiler.CompileCondition(conditions, vars, environment.StoredExpressions),
		p.Spec.FailurePolicy, "policy", "validate", p.Name)
	var validations, messages []plugincel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		validations = append(validations, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		messages = append(messages, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression})
	}
	return validating.NewValidator(
		compiler.CompileCondition(validations, vars, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(nil, vars, environment.StoredExpressions),
		compiler.CompileCondition(messages, plugincel.OptionalVariableDeclarations{}, environment.StoredExpressions),
		p.Spec.FailurePolicy, nil)
}

// admissionRequest is one request as the policy sees it.
type admissionRequest struct {
	user              string
	groups            []string
	op                admission.Operation
	gvr               schema.GroupVersionResource
	subresource       string
	namespace, name   string
	object, oldObject runtime.Object
	wantDenied        string // the rule the message names; "" to admit
}

func (r admissionRequest) attributes() *admission.VersionedAttributes {
	u := &user.DefaultInfo{Name: r.user, Groups: r.groups}
	gvk := schema.GroupVersionKind{Group: r.gvr.Group, Version: r.gvr.Version, Kind: "Whatever"}
	attrs := admission.NewAttributesRecord(r.object, r.oldObject, gvk, r.namespace, r.name, r.gvr, r.subresource, r.op, nil, false, u)
	return &admission.VersionedAttributes{Attributes: attrs, VersionedKind: gvk, VersionedObject: r.object, VersionedOldObject: r.oldObject}
}

var (
	nodes  = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	hosts  = schema.GroupVersionResource{Group: "fargo.dev", Version: "v1", Resource: "hosts"}
	leases = schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
)

func node(host string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fargate-ip-10-42-0-7.us-east-1.compute.internal"}}
	if host != "" {
		n.Labels = map[string]string{"fargo.dev/host": host, "eks.amazonaws.com/compute-type": "fargate"}
	}
	return n
}

func host(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("fargo.dev/v1")
	u.SetKind("Host")
	u.SetName(name)
	return u
}

func lease(ns, name string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestHostPolicy(t *testing.T) {
	h1 := func(r admissionRequest) admissionRequest {
		r.user, r.groups = "fargo:host:h1", []string{"fargo:hosts", "system:authenticated"}
		return r
	}
	const upd, del, create = admission.Update, admission.Delete, admission.Create
	nodeName := node("").Name
	cases := map[string]admissionRequest{
		"own node":                     h1(admissionRequest{op: upd, gvr: nodes, name: nodeName, object: node("h1"), oldObject: node("h1")}),
		"own node status":              h1(admissionRequest{op: upd, gvr: nodes, subresource: "status", name: nodeName, object: node("h1"), oldObject: node("h1")}),
		"own node deleted":             h1(admissionRequest{op: del, gvr: nodes, name: nodeName, oldObject: node("h1")}),
		"other host's node":            h1(admissionRequest{op: upd, gvr: nodes, name: nodeName, object: node("h2"), oldObject: node("h2"), wantDenied: RuleOwnNodes}),
		"other host's node status":     h1(admissionRequest{op: upd, gvr: nodes, subresource: "status", name: nodeName, object: node("h2"), oldObject: node("h2"), wantDenied: RuleOwnNodes}),
		"other host's node taken over": h1(admissionRequest{op: upd, gvr: nodes, name: nodeName, object: node("h1"), oldObject: node("h2"), wantDenied: RuleOwnNodes}),
		"own node given away":          h1(admissionRequest{op: upd, gvr: nodes, name: nodeName, object: node("h2"), oldObject: node("h1"), wantDenied: RuleOwnNodes}),
		"other host's node deleted":    h1(admissionRequest{op: del, gvr: nodes, name: nodeName, oldObject: node("h2"), wantDenied: RuleOwnNodes}),
		"unlabelled node":              h1(admissionRequest{op: upd, gvr: nodes, name: nodeName, object: node(""), oldObject: node(""), wantDenied: RuleOwnNodes}),
		"admin changes any node": {user: "fargo-admin", groups: []string{"system:masters"}, op: upd, gvr: nodes, name: nodeName,
			object: node("h2"), oldObject: node("h2")},
		"host group member without host name": {user: "mallory", groups: []string{"fargo:hosts"}, op: upd, gvr: nodes, name: nodeName,
			object: node(""), oldObject: node(""), wantDenied: RuleOwnNodes},
		"own Host created":            h1(admissionRequest{op: create, gvr: hosts, name: "h1", object: host("h1")}),
		"own Host status":             h1(admissionRequest{op: upd, gvr: hosts, subresource: "status", name: "h1", object: host("h1"), oldObject: host("h1")}),
		"other Host created":          h1(admissionRequest{op: create, gvr: hosts, name: "h2", object: host("h2"), wantDenied: RuleOwnHost}),
		"other Host status":           h1(admissionRequest{op: upd, gvr: hosts, subresource: "status", name: "h2", object: host("h2"), oldObject: host("h2"), wantDenied: RuleOwnHost}),
		"own heartbeat renewed":       h1(admissionRequest{op: upd, gvr: leases, namespace: "fargo-system", name: "host-h1", object: lease("fargo-system", "host-h1"), oldObject: lease("fargo-system", "host-h1")}),
		"own heartbeat created":       h1(admissionRequest{op: create, gvr: leases, namespace: "fargo-system", name: "host-h1", object: lease("fargo-system", "host-h1")}),
		"other heartbeat renewed":     h1(admissionRequest{op: upd, gvr: leases, namespace: "fargo-system", name: "host-h2", object: lease("fargo-system", "host-h2"), oldObject: lease("fargo-system", "host-h2"), wantDenied: RuleOwnLease}),
		"other heartbeat deleted":     h1(admissionRequest{op: del, gvr: leases, namespace: "fargo-system", name: "host-h2", oldObject: lease("fargo-system", "host-h2"), wantDenied: RuleOwnLease}),
		"other lease in fargo-system": h1(admissionRequest{op: create, gvr: leases, namespace: "fargo-system", name: "leader", object: lease("fargo-system", "leader"), wantDenied: RuleOwnLease}),
		"node lease":                  h1(admissionRequest{op: upd, gvr: leases, namespace: "kube-node-lease", name: nodeName, object: lease("kube-node-lease", nodeName), oldObject: lease("kube-node-lease", nodeName)}),
	}
	v := compilePolicy(t, hostPolicy())
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			result := v.Validate(context.Background(), r.gvr, r.attributes(), nil, nil, celconfig.RuntimeCELCostBudget, nil)
			var denials []validating.PolicyDecision
			for _, d := range result.Decisions {
				if d.Action == validating.ActionDeny {
					denials = append(denials, d)
				}
			}
			if r.wantDenied == "" {
				if len(denials) > 0 {
					t.Fatalf("denied: %+v", denials)
				}
				return
			}
			if len(denials) != 1 || denials[0].Evaluation != validating.EvalDeny {
				t.Fatalf("decisions %+v, want one denial by evaluation", result.Decisions)
			}
			if want := PolicyName + "/" + r.wantDenied + ": " + r.user; !strings.HasPrefix(denials[0].Message, want) {
				t.Fatalf("message %q, want it to start with %q", denials[0].Message, want)
			}
		})
	}
}
