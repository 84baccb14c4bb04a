package profile

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Index answers Match quickly. Most pods match no profile, and admission sees
// every pod, so a pod in a namespace that no selector names literally costs a
// map lookup (plus the wildcard selectors, when some profile has a wildcard
// namespace). An Index is immutable once built and safe for concurrent use;
// rebuild it when profiles change and swap it in, e.g. with atomic.Pointer.
type Index struct {
	// byNamespace holds the selectors with a literal namespace, and
	// wildcardNamespace those whose namespace has * or ?. Both are sorted by
	// profile name, so the first hit in each is that list's winner.
	byNamespace       map[string][]indexedSelector
	wildcardNamespace []indexedSelector
	// profiles holds the profiles that take pods, by name, for the
	// eks.amazonaws.com/fargate-profile label.
	profiles map[string]indexedProfile
}

type indexedProfile struct {
	*v1.FargateProfile
	selectors []selector
}

type indexedSelector struct {
	profile string
	selector
}

// NewIndex indexes the profiles that take pods (see Takes); the others are
// left out. It keeps pointers to copies, so the caller may reuse profiles.
func NewIndex(profiles []v1.FargateProfile) *Index {
	x := &Index{
		byNamespace: map[string][]indexedSelector{},
		profiles:    map[string]indexedProfile{},
	}
	for i := range profiles {
		if Takes(&profiles[i]) {
			x.add(profiles[i].DeepCopy())
		}
	}
	for ns := range x.byNamespace {
		sortByProfile(x.byNamespace[ns])
	}
	sortByProfile(x.wildcardNamespace)
	return x
}

func (x *Index) add(p *v1.FargateProfile) {
	indexed := indexedProfile{FargateProfile: p}
	for _, s := range p.Spec.Selectors {
		entry := indexedSelector{profile: p.Name, selector: compileSelector(s)}
		indexed.selectors = append(indexed.selectors, entry.selector)
		if entry.namespaceGlob {
			x.wildcardNamespace = append(x.wildcardNamespace, entry)
		} else {
			x.byNamespace[s.Namespace] = append(x.byNamespace[s.Namespace], entry)
		}
	}
	x.profiles[p.Name] = indexed
}

// sortByProfile keeps selectors of one profile in their spec order; only the
// profile order matters for the answer.
func sortByProfile(entries []indexedSelector) {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].profile < entries[j].profile })
}

// Match returns the name of the profile that takes pod, with the same answer
// and the same rules as the package-level Match.
func (x *Index) Match(pod *corev1.Pod) (name string, ok bool) {
	if optedOut(pod) {
		return "", false
	}
	if wanted := pod.Labels[LabelFargateProfile]; wanted != "" {
		return x.matchWanted(wanted, pod)
	}
	exact, ok1 := firstMatch(x.byNamespace[pod.Namespace], pod)
	wild, ok2 := firstMatch(x.wildcardNamespace, pod)
	switch {
	case ok1 && ok2:
		return min(exact, wild), true
	case ok1:
		return exact, true
	default:
		return wild, ok2
	}
}

// Profile returns the indexed profile of that name, for the fields admission
// and scheduling need once the match is made (subnets, for example). The
// profile is shared by every caller of the Index: read it, do not modify it.
func (x *Index) Profile(name string) (*v1.FargateProfile, bool) {
	p, ok := x.profiles[name]
	return p.FargateProfile, ok
}

// Len is the number of profiles that take pods.
func (x *Index) Len() int {
	return len(x.profiles)
}

func (x *Index) matchWanted(wanted string, pod *corev1.Pod) (string, bool) {
	p, found := x.profiles[wanted]
	if !found {
		return "", false
	}
	for i := range p.selectors {
		if p.selectors[i].matches(pod) {
			return wanted, true
		}
	}
	return "", false
}

// firstMatch returns the profile of the first entry that matches; entries
// are sorted by profile name, so that is the alphabetically first.
func firstMatch(entries []indexedSelector, pod *corev1.Pod) (string, bool) {
	for i := range entries {
		if entries[i].matches(pod) {
			return entries[i].profile, true
		}
	}
	return "", false
}
