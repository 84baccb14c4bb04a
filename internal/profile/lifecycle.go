package profile

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// ValidateCreate checks a new profile against its own rules and against the
// profiles that already exist: at most max profiles per cluster (max <= 0
// means DefaultMaxProfiles), and no creation while another profile is being
// deleted. existing may contain p itself (an informer that saw it early); it
// is not counted.
func ValidateCreate(p *v1.FargateProfile, existing []v1.FargateProfile, max int) error {
	if max <= 0 {
		max = DefaultMaxProfiles
	}
	problems := objectProblems(p)
	if n := countOthers(p.Name, existing); n >= max {
		problems = append(problems, fmt.Sprintf(
			"the cluster has %d Fargate profiles already: at most %d Fargate profiles per cluster (set by --max-fargate-profiles); delete one first",
			n, max))
	}
	if deleting := othersDeleting(p.Name, existing); len(deleting) > 0 {
		problems = append(problems, waitForDeletion("create", deleting))
	}
	return invalid(p.Name, problems)
}

// ValidateUpdate refuses any change of spec. Status, labels, annotations,
// finalizers and the rest of metadata may change: the controller moves the
// status along and holds deletion with a finalizer.
func ValidateUpdate(old, updated *v1.FargateProfile) error {
	// Semantic equality treats nil and empty maps and lists as equal, so a
	// client that round-trips `tags: {}` does not trip the rule.
	if equality.Semantic.DeepEqual(old.Spec, updated.Spec) {
		return nil
	}
	return invalid(updated.Name, []string{v1.ImmutableMessage})
}

// ValidateDelete refuses to delete a profile while another one is being
// deleted, as EKS does. Deleting a profile that is itself already DELETING is
// allowed, so that a repeated `delete` is harmless.
func ValidateDelete(p *v1.FargateProfile, existing []v1.FargateProfile) error {
	if deleting := othersDeleting(p.Name, existing); len(deleting) > 0 {
		return invalid(p.Name, []string{waitForDeletion("delete", deleting)})
	}
	return nil
}

// IsDeleting reports whether a profile is on its way out. A deletion
// timestamp counts as well as the DELETING status: the controller writes the
// status only after the apiserver has marked the object, and the lock must
// hold in between.
func IsDeleting(p *v1.FargateProfile) bool {
	return p.Status.Status == v1.StateDeleting || p.DeletionTimestamp != nil
}

func countOthers(name string, existing []v1.FargateProfile) int {
	n := 0
	for i := range existing {
		if existing[i].Name != name {
			n++
		}
	}
	return n
}

// othersDeleting returns the names of the other deleting profiles, sorted.
func othersDeleting(name string, existing []v1.FargateProfile) []string {
	var names []string
	for i := range existing {
		if existing[i].Name != name && IsDeleting(&existing[i]) {
			names = append(names, existing[i].Name)
		}
	}
	sort.Strings(names)
	return names
}

func waitForDeletion(verb string, deleting []string) string {
	subject := fmt.Sprintf("Fargate profile %q is", deleting[0])
	if len(deleting) > 1 {
		subject = fmt.Sprintf("Fargate profiles %s are", quoteJoin(deleting))
	}
	return fmt.Sprintf("cannot %s while %s DELETING: wait until the deletion finishes, then try again", verb, subject)
}

func quoteJoin(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}
