package profile

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Small alphabets make collisions, and so matches, frequent.
var (
	randomNamespaces  = []string{"a", "b", "ab", "ba", "team-a", "team-b", ""}
	randomNSPatterns  = []string{"a", "b", "ab", "*", "a*", "?", "??", "team-*", "team-?", "*b", "[a]", "**"}
	randomKeys        = []string{"app", "tier", "app.kubernetes.io/name", "x"}
	randomKeyPatterns = []string{"app", "tier", "app*", "*/name", "?", "x", "*"}
	randomValues      = []string{"web", "api", "", "w", "web-1"}
	randomValPatterns = []string{"web", "api", "", "*", "w*", "web-?", "?", "[web]"}
	randomStates      = []v1.ProfileState{v1.StateActive, v1.StateActive, v1.StateActive, v1.StateCreating, v1.StateDeleting, v1.StateCreateFailed, ""}
)

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.IntN(len(from))] }

func randomProfiles(rng *rand.Rand) []v1.FargateProfile {
	var profiles []v1.FargateProfile
	for i := range rng.IntN(6) {
		var selectors []v1.Selector
		for range 1 + rng.IntN(3) {
			s := v1.Selector{Namespace: pick(rng, randomNSPatterns)}
			for range rng.IntN(3) {
				if s.Labels == nil {
					s.Labels = map[string]string{}
				}
				s.Labels[pick(rng, randomKeyPatterns)] = pick(rng, randomValPatterns)
			}
			selectors = append(selectors, s)
		}
		p := withState(fmt.Sprintf("fp-%d", rng.IntN(4)*10+i), pick(rng, randomStates), selectors...)
		if rng.IntN(10) == 0 {
			p.DeletionTimestamp = &metav1.Time{}
		}
		profiles = append(profiles, p)
	}
	return profiles
}

func randomPod(rng *rand.Rand, profiles []v1.FargateProfile) *corev1.Pod {
	p := pod(pick(rng, randomNamespaces))
	for range rng.IntN(4) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[pick(rng, randomKeys)] = pick(rng, randomValues)
	}
	if rng.IntN(5) == 0 {
		wanted := "missing"
		if len(profiles) > 0 {
			wanted = pick(rng, profiles).Name
		}
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[LabelFargateProfile] = wanted
	}
	if rng.IntN(10) == 0 {
		p.Annotations = map[string]string{AnnotationComputeType: ComputeTypeEC2}
	}
	return p
}

func TestIndexAgreesWithMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	matched := 0
	for range 3000 {
		profiles := randomProfiles(rng)
		index := NewIndex(profiles)
		for range 20 {
			p := randomPod(rng, profiles)
			wantName, wantOK := Match(profiles, p)
			gotName, gotOK := index.Match(p)
			if gotName != wantName || gotOK != wantOK {
				t.Fatalf("pod %s %v %v\nprofiles %+v\nIndex.Match = %q, %v; Match = %q, %v",
					p.Namespace, p.Labels, p.Annotations, profiles, gotName, gotOK, wantName, wantOK)
			}
			if wantOK {
				matched++
			}
		}
	}
	if matched < 5000 {
		t.Errorf("only %d of 60000 random pods matched; the generator no longer exercises matching", matched)
	}
}

func TestIndexProfile(t *testing.T) {
	profiles := []v1.FargateProfile{active("a", sel("ns")), withState("b", v1.StateCreating, sel("ns"))}
	profiles[0].Spec.Subnets = []string{"10.10.0.0/20"}
	index := NewIndex(profiles)
	profiles[0].Spec.Subnets[0] = "changed by the caller"

	if index.Len() != 1 {
		t.Errorf("Len = %d, want 1 (only ACTIVE profiles)", index.Len())
	}
	t.Run("indexed profile", func(t *testing.T) {
		p, ok := index.Profile("a")
		if !ok || p.Spec.Subnets[0] != "10.10.0.0/20" {
			t.Errorf("Profile(a) = %+v, %v; want a copy with subnet 10.10.0.0/20", p, ok)
		}
	})
	t.Run("profile that takes no pods", func(t *testing.T) {
		if _, ok := index.Profile("b"); ok {
			t.Errorf("Profile(b) found a CREATING profile")
		}
	})
}

// BenchmarkIndexMatch shows the cost admission adds per pod.
func BenchmarkIndexMatch(b *testing.B) {
	var profiles []v1.FargateProfile
	for i := range 10 {
		profiles = append(profiles, active(fmt.Sprintf("fp-%d", i),
			sel(fmt.Sprintf("ns-%d", i), "app", "web"), sel(fmt.Sprintf("other-%d", i))))
	}
	index := NewIndex(profiles)
	cases := map[string]*corev1.Pod{
		"no match":    pod("default", "app", "web", "pod-template-hash", "abc"),
		"exact match": pod("ns-7", "app", "web", "pod-template-hash", "abc"),
	}
	for name, p := range cases {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				index.Match(p)
			}
		})
	}
	profiles = append(profiles, active("wild", sel("team-*", "app", "w?b")))
	withWildcard := NewIndex(profiles)
	b.Run("no match, one wildcard namespace", func(b *testing.B) {
		p := cases["no match"]
		for b.Loop() {
			withWildcard.Match(p)
		}
	})
}
