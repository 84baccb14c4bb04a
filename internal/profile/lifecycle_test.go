package profile

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// cluster returns n ACTIVE profiles named fp-0 .. fp-(n-1).
func cluster(n int) []v1.FargateProfile {
	var profiles []v1.FargateProfile
	for i := range n {
		profiles = append(profiles, active(fmt.Sprintf("fp-%d", i), sel("ns")))
	}
	return profiles
}

func deletionMarked(name string) v1.FargateProfile {
	p := active(name, sel("ns"))
	p.DeletionTimestamp = &metav1.Time{}
	return p
}

func TestValidateCreate(t *testing.T) {
	const limit = `fargate profile "fp-default": the cluster has %d Fargate profiles already: ` +
		`at most %d Fargate profiles per cluster (set by --max-fargate-profiles); delete one first`
	tests := []struct {
		name     string
		existing []v1.FargateProfile
		max      int
		want     string
	}{
		{"empty cluster", nil, 10, ""},
		{"9 of 10", cluster(9), 10, ""},
		{"10 of 10", cluster(10), 10, fmt.Sprintf(limit, 10, 10)},
		{"max 0 means default 10", cluster(10), 0, fmt.Sprintf(limit, 10, 10)},
		{"max 0 allows 9", cluster(9), 0, ""},
		{"configured max 3", cluster(3), 3, fmt.Sprintf(limit, 3, 3)},
		{"configured max 20", cluster(10), 20, ""},
		{"the profile itself is not counted", append(cluster(9), active("fp-default", sel("ns"))), 10, ""},
		{"another profile DELETING", []v1.FargateProfile{withState("old", v1.StateDeleting, sel("ns"))}, 10,
			`fargate profile "fp-default": cannot create while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`},
		{"another profile marked for deletion", []v1.FargateProfile{deletionMarked("old")}, 10,
			`fargate profile "fp-default": cannot create while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`},
		{"two profiles DELETING, sorted", []v1.FargateProfile{withState("zz", v1.StateDeleting, sel("ns")), withState("aa", v1.StateDeleting, sel("ns"))}, 10,
			`fargate profile "fp-default": cannot create while Fargate profiles "aa", "zz" are DELETING: wait until the deletion finishes, then try again`},
		{"DELETE_FAILED does not lock", []v1.FargateProfile{withState("old", v1.StateDeleteFailed, sel("ns"))}, 10, ""},
		{"limit and lock together", append(cluster(9), withState("old", v1.StateDeleting, sel("ns"))), 10,
			fmt.Sprintf(limit, 10, 10) + `; cannot create while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, ValidateCreate(valid(), tt.existing, tt.max), tt.want)
		})
	}
	t.Run("object rules come first", func(t *testing.T) {
		p := valid()
		p.Name = "eks-new"
		want := `fargate profile "eks-new": name must not start with "eks-"; the cluster has 1 Fargate profiles already: ` +
			`at most 1 Fargate profiles per cluster (set by --max-fargate-profiles); delete one first`
		assertError(t, ValidateCreate(p, cluster(1), 1), want)
	})
}

func TestValidateUpdate(t *testing.T) {
	const immutable = `fargate profile "fp-default": Fargate profiles are immutable: create a new profile and delete the old one`
	tests := []struct {
		name   string
		change func(p *v1.FargateProfile)
		want   string
	}{
		{"no change", func(p *v1.FargateProfile) {}, ""},
		{"status", func(p *v1.FargateProfile) {
			p.Status = v1.FargateProfileStatus{Status: v1.StateDeleteFailed, Message: "pods remain"}
		}, ""},
		{"labels", func(p *v1.FargateProfile) { p.Labels = map[string]string{"a": "b"} }, ""},
		{"annotations", func(p *v1.FargateProfile) { p.Annotations = map[string]string{"a": "b"} }, ""},
		{"finalizers", func(p *v1.FargateProfile) { p.Finalizers = []string{"fargo.dev/pods"} }, ""},
		{"deletion timestamp", func(p *v1.FargateProfile) { p.DeletionTimestamp = &metav1.Time{} }, ""},
		{"selector namespace", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Namespace = "other" }, immutable},
		{"selector label", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Labels["app"] = "api" }, immutable},
		{"selector added", func(p *v1.FargateProfile) { p.Spec.Selectors = append(p.Spec.Selectors, v1.Selector{Namespace: "x"}) }, immutable},
		{"subnets", func(p *v1.FargateProfile) { p.Spec.Subnets = nil }, immutable},
		{"role", func(p *v1.FargateProfile) { p.Spec.PodExecutionRoleARN = "arn:other" }, immutable},
		{"tags", func(p *v1.FargateProfile) { p.Spec.Tags["team"] = "other" }, immutable},
		{"cluster name", func(p *v1.FargateProfile) { p.Spec.ClusterName = "other" }, immutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := valid()
			updated := old.DeepCopy()
			tt.change(updated)
			assertError(t, ValidateUpdate(old, updated), tt.want)
		})
	}
	t.Run("nil and empty are the same", func(t *testing.T) {
		old := valid()
		old.Spec.Tags, old.Spec.Subnets = nil, nil
		updated := old.DeepCopy()
		updated.Spec.Tags, updated.Spec.Subnets = map[string]string{}, []string{}
		assertError(t, ValidateUpdate(old, updated), "")
	})
}

func TestValidateDelete(t *testing.T) {
	self := withState("fp-default", v1.StateActive, sel("ns"))
	tests := []struct {
		name     string
		p        v1.FargateProfile
		existing []v1.FargateProfile
		want     string
	}{
		{"nothing deleting", self, append(cluster(3), self), ""},
		{"itself DELETING (repeated delete)", withState("fp-default", v1.StateDeleting), []v1.FargateProfile{withState("fp-default", v1.StateDeleting)}, ""},
		{"another DELETING", self, []v1.FargateProfile{self, withState("old", v1.StateDeleting)},
			`fargate profile "fp-default": cannot delete while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`},
		{"another marked for deletion", self, []v1.FargateProfile{self, deletionMarked("old")},
			`fargate profile "fp-default": cannot delete while Fargate profile "old" is DELETING: wait until the deletion finishes, then try again`},
		{"CREATING and failed states do not lock", self, []v1.FargateProfile{
			withState("a", v1.StateCreating), withState("b", v1.StateCreateFailed), withState("c", v1.StateDeleteFailed)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, ValidateDelete(&tt.p, tt.existing), tt.want)
		})
	}
}

func TestCRDUsesImmutableMessage(t *testing.T) {
	spec := v1.CRD().Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	if len(spec.XValidations) != 1 || spec.XValidations[0].Message != v1.ImmutableMessage {
		t.Fatalf("CRD spec rules = %+v, want one rule with %q", spec.XValidations, v1.ImmutableMessage)
	}
	err := ValidateUpdate(valid(), func() *v1.FargateProfile { p := valid(); p.Spec.Subnets = nil; return p }())
	if want := `fargate profile "fp-default": ` + v1.ImmutableMessage; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
