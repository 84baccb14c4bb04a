package profile

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// active returns an ACTIVE profile with the given selectors.
func active(name string, selectors ...v1.Selector) v1.FargateProfile {
	return withState(name, v1.StateActive, selectors...)
}

func withState(name string, state v1.ProfileState, selectors ...v1.Selector) v1.FargateProfile {
	return v1.FargateProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.FargateProfileSpec{Selectors: selectors},
		Status:     v1.FargateProfileStatus{Status: state},
	}
}

func sel(namespace string, labels ...string) v1.Selector {
	return v1.Selector{Namespace: namespace, Labels: pairs(labels)}
}

// pairs turns "k", "v", "k2", "v2" into a map; nil for no pairs.
func pairs(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func pod(namespace string, labels ...string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace, Labels: pairs(labels)}}
}

func annotated(p *corev1.Pod, kv ...string) *corev1.Pod {
	p.Annotations = pairs(kv)
	return p
}
