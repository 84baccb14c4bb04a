package profile

import (
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Takes reports whether a profile may take new pods: it is ACTIVE and not on
// its way out. EKS places pods only on ACTIVE profiles; a CREATING profile
// does not take pods yet (fargo's controller activates profiles within
// moments, and `fargo create fargateprofile` waits for ACTIVE, as eksctl
// does), and a DELETING one must not take pods it is about to delete. Pods
// created before a profile is ACTIVE stay where they are, as the spec wants
// for pods created before the profile exists.
func Takes(p *v1.FargateProfile) bool {
	return p.Status.Status == v1.StateActive && p.DeletionTimestamp == nil
}

// Match returns the name of the profile that takes pod, if any. It is the
// plain statement of the rules, kept simple so that Index can be checked
// against it; admission uses Index.
//
//   - A pod annotated eks.amazonaws.com/compute-type: ec2 is never taken.
//   - A pod labelled eks.amazonaws.com/fargate-profile: NAME is taken only by
//     that profile, and only if it matches one of its selectors. An empty NAME
//     is treated as no label (no profile can be called "").
//   - Otherwise the alphabetically first matching profile wins.
//
// Only profiles for which Takes is true are considered. The pod's namespace
// is pod.Namespace; admission must fill it from the request when the object
// itself leaves it empty.
func Match(profiles []v1.FargateProfile, pod *corev1.Pod) (name string, ok bool) {
	if optedOut(pod) {
		return "", false
	}
	wanted := pod.Labels[LabelFargateProfile]
	for i := range profiles {
		p := &profiles[i]
		if !Takes(p) || (wanted != "" && p.Name != wanted) {
			continue
		}
		if (!ok || p.Name < name) && profileMatches(p, pod) {
			name, ok = p.Name, true
		}
	}
	return name, ok
}

// optedOut reports whether the pod asks to stay off Fargate.
func optedOut(pod *corev1.Pod) bool {
	return pod.Annotations[AnnotationComputeType] == ComputeTypeEC2
}

func profileMatches(p *v1.FargateProfile, pod *corev1.Pod) bool {
	for _, s := range p.Spec.Selectors {
		if c := compileSelector(s); c.matches(pod) {
			return true
		}
	}
	return false
}

// selector is a v1.Selector prepared for matching: wildcards are found once,
// and labels are a slice because a pod is checked against every pair anyway.
type selector struct {
	namespace     string
	namespaceGlob bool
	labels        []labelPattern
}

type labelPattern struct {
	key, value         string
	keyGlob, valueGlob bool
}

func compileSelector(s v1.Selector) selector {
	c := selector{namespace: s.Namespace, namespaceGlob: hasWildcard(s.Namespace)}
	for k, v := range s.Labels {
		c.labels = append(c.labels, labelPattern{key: k, value: v, keyGlob: hasWildcard(k), valueGlob: hasWildcard(v)})
	}
	return c
}

// matches reports whether the pod's namespace matches and it carries every
// label of the selector.
func (s *selector) matches(pod *corev1.Pod) bool {
	if !matchString(s.namespace, s.namespaceGlob, pod.Namespace) {
		return false
	}
	for i := range s.labels {
		if !s.labels[i].carriedBy(pod.Labels) {
			return false
		}
	}
	return true
}

// carriedBy reports whether some pod label matches the pair. A literal key is
// a map lookup; a wildcard key has to look at every label. Each pair is
// checked on its own, so two wildcard pairs may be met by the same pod label.
func (l *labelPattern) carriedBy(labels map[string]string) bool {
	if !l.keyGlob {
		v, found := labels[l.key]
		return found && matchString(l.value, l.valueGlob, v)
	}
	for k, v := range labels {
		if globMatch(l.key, k) && matchString(l.value, l.valueGlob, v) {
			return true
		}
	}
	return false
}

func matchString(pattern string, glob bool, s string) bool {
	if !glob {
		return pattern == s
	}
	return globMatch(pattern, s)
}
