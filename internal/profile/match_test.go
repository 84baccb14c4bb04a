package profile

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// TestMatch runs every case through Match and through Index.Match.
func TestMatch(t *testing.T) {
	deleting := active("aa-deleting", sel("*"))
	deleting.DeletionTimestamp = &metav1.Time{}

	tests := []struct {
		name     string
		profiles []v1.FargateProfile
		pod      *corev1.Pod
		want     string // "" means no profile takes the pod
	}{
		{"no profiles", nil, pod("default"), ""},
		{"namespace only", []v1.FargateProfile{active("fp", sel("default"))}, pod("default", "app", "x"), "fp"},
		{"other namespace", []v1.FargateProfile{active("fp", sel("default"))}, pod("kube-system"), ""},
		{"empty pod namespace", []v1.FargateProfile{active("fp", sel("default"))}, pod(""), ""},

		{"selector labels are a subset of pod labels", []v1.FargateProfile{active("fp", sel("ns", "app", "web"))},
			pod("ns", "app", "web", "tier", "front"), "fp"},
		{"all selector labels required", []v1.FargateProfile{active("fp", sel("ns", "app", "web", "tier", "front"))},
			pod("ns", "app", "web"), ""},
		{"label value must equal", []v1.FargateProfile{active("fp", sel("ns", "app", "web"))}, pod("ns", "app", "api"), ""},
		{"pod without labels", []v1.FargateProfile{active("fp", sel("ns", "app", "web"))}, pod("ns"), ""},
		{"empty label value matches only empty", []v1.FargateProfile{active("fp", sel("ns", "canary", ""))}, pod("ns", "canary", ""), "fp"},
		{"any selector of a profile", []v1.FargateProfile{active("fp", sel("a"), sel("b", "app", "x"))}, pod("b", "app", "x"), "fp"},

		{"namespace *", []v1.FargateProfile{active("fp", sel("*"))}, pod("anything"), "fp"},
		{"namespace prefix*", []v1.FargateProfile{active("fp", sel("team-*"))}, pod("team-payments"), "fp"},
		{"namespace prefix* no match", []v1.FargateProfile{active("fp", sel("team-*"))}, pod("teams"), ""},
		{"namespace ?", []v1.FargateProfile{active("fp", sel("env-?"))}, pod("env-a"), "fp"},
		{"namespace ? needs exactly one", []v1.FargateProfile{active("fp", sel("env-?"))}, pod("env-ab"), ""},
		{"namespace **", []v1.FargateProfile{active("fp", sel("**"))}, pod("x"), "fp"},
		{"namespace literal [", []v1.FargateProfile{active("fp", sel("[a]"))}, pod("a"), ""},
		{"label key *", []v1.FargateProfile{active("fp", sel("ns", "app.kubernetes.io/*", "web"))}, pod("ns", "app.kubernetes.io/name", "web"), "fp"},
		{"label key * value differs", []v1.FargateProfile{active("fp", sel("ns", "app.kubernetes.io/*", "web"))}, pod("ns", "app.kubernetes.io/name", "api"), ""},
		{"label key ?", []v1.FargateProfile{active("fp", sel("ns", "tier?", "x"))}, pod("ns", "tier1", "x"), "fp"},
		{"label value *", []v1.FargateProfile{active("fp", sel("ns", "app", "web-*"))}, pod("ns", "app", "web-eu"), "fp"},
		{"label value * matches empty rest", []v1.FargateProfile{active("fp", sel("ns", "app", "web*"))}, pod("ns", "app", "web"), "fp"},
		{"label value * matches empty value", []v1.FargateProfile{active("fp", sel("ns", "app", "*"))}, pod("ns", "app", ""), "fp"},
		{"label value * still needs the key", []v1.FargateProfile{active("fp", sel("ns", "app", "*"))}, pod("ns", "other", "x"), ""},
		{"label value ?", []v1.FargateProfile{active("fp", sel("ns", "v", "1.?"))}, pod("ns", "v", "1.2"), "fp"},
		{"label key and value *", []v1.FargateProfile{active("fp", sel("ns", "*", "*"))}, pod("ns", "a", "b"), "fp"},
		{"label key * needs some label", []v1.FargateProfile{active("fp", sel("ns", "*", "*"))}, pod("ns"), ""},

		{"several profiles: alphabetical", []v1.FargateProfile{active("zeta", sel("ns")), active("alpha", sel("ns")), active("mid", sel("*"))},
			pod("ns"), "alpha"},
		{"several profiles: wildcard first alphabetically", []v1.FargateProfile{active("b-exact", sel("ns")), active("a-wild", sel("n?"))},
			pod("ns"), "a-wild"},
		{"several profiles: exact first alphabetically", []v1.FargateProfile{active("b-wild", sel("*")), active("a-exact", sel("ns"))},
			pod("ns"), "a-exact"},
		{"several profiles: only matching ones count", []v1.FargateProfile{active("a", sel("ns", "app", "x")), active("b", sel("ns"))},
			pod("ns", "app", "y"), "b"},

		{"override label picks a later profile", []v1.FargateProfile{active("a", sel("ns")), active("b", sel("ns"))},
			pod("ns", LabelFargateProfile, "b"), "b"},
		{"override label profile must match", []v1.FargateProfile{active("a", sel("ns")), active("b", sel("other"))},
			pod("ns", LabelFargateProfile, "b"), ""},
		{"override label unknown profile", []v1.FargateProfile{active("a", sel("ns"))},
			pod("ns", LabelFargateProfile, "missing"), ""},
		{"override label with wildcard selector", []v1.FargateProfile{active("a", sel("ns")), active("b", sel("n*", "app", "?"))},
			pod("ns", LabelFargateProfile, "b", "app", "x"), "b"},
		{"override label profile not ACTIVE", []v1.FargateProfile{active("a", sel("ns")), withState("b", v1.StateCreating, sel("ns"))},
			pod("ns", LabelFargateProfile, "b"), ""},
		{"override label empty is ignored", []v1.FargateProfile{active("a", sel("ns"))},
			pod("ns", LabelFargateProfile, ""), "a"},
		{"override label is not a wildcard", []v1.FargateProfile{active("a", sel("ns"))},
			pod("ns", LabelFargateProfile, "*"), ""},

		{"compute-type ec2 opts out", []v1.FargateProfile{active("fp", sel("ns"))},
			annotated(pod("ns"), AnnotationComputeType, ComputeTypeEC2), ""},
		{"compute-type ec2 beats the override label", []v1.FargateProfile{active("fp", sel("ns"))},
			annotated(pod("ns", LabelFargateProfile, "fp"), AnnotationComputeType, ComputeTypeEC2), ""},
		{"compute-type fargate does not opt out", []v1.FargateProfile{active("fp", sel("ns"))},
			annotated(pod("ns"), AnnotationComputeType, ComputeTypeFargate), "fp"},
		{"compute-type as a label does not opt out", []v1.FargateProfile{active("fp", sel("ns"))},
			pod("ns", AnnotationComputeType, ComputeTypeEC2), "fp"},

		{"CREATING ignored", []v1.FargateProfile{withState("fp", v1.StateCreating, sel("ns"))}, pod("ns"), ""},
		{"no status yet ignored", []v1.FargateProfile{withState("fp", "", sel("ns"))}, pod("ns"), ""},
		{"DELETING ignored", []v1.FargateProfile{withState("a", v1.StateDeleting, sel("ns")), active("b", sel("ns"))}, pod("ns"), "b"},
		{"CREATE_FAILED ignored", []v1.FargateProfile{withState("fp", v1.StateCreateFailed, sel("ns"))}, pod("ns"), ""},
		{"DELETE_FAILED ignored", []v1.FargateProfile{withState("fp", v1.StateDeleteFailed, sel("ns"))}, pod("ns"), ""},
		{"ACTIVE but marked for deletion ignored", []v1.FargateProfile{deleting, active("b", sel("ns"))}, pod("ns"), "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := Match(tt.profiles, tt.pod)
			if name != tt.want || ok != (tt.want != "") {
				t.Errorf("Match = %q, %v; want %q", name, ok, tt.want)
			}
			name, ok = NewIndex(tt.profiles).Match(tt.pod)
			if name != tt.want || ok != (tt.want != "") {
				t.Errorf("Index.Match = %q, %v; want %q", name, ok, tt.want)
			}
		})
	}
}
