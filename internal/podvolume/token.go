package podvolume

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// defaultTokenSeconds is what a kubelet asks for when a projection
	// names no expiry (the API server defaults pods to 3607 through the
	// kube-api-access volume it injects, and may extend the real lifetime).
	defaultTokenSeconds = 3607
	// maxTokenAge renews a token after a day whatever its lifetime, as
	// a kubelet's token manager does.
	maxTokenAge = 24 * time.Hour
)

// issuedToken is a token this agent got for a pod, and when to renew it.
type issuedToken struct {
	value   string
	issued  time.Time
	expires time.Time
}

// due tells whether the token should be renewed: past 80% of its lifetime,
// or older than a day.
func (t *issuedToken) due(now time.Time) bool {
	life := t.expires.Sub(t.issued)
	return !now.Before(t.issued.Add(life*8/10)) || !now.Before(t.issued.Add(maxTokenAge))
}

// serviceAccountToken returns the pod's token for a projection, asking the
// TokenRequest API for a new one when none is held or it is due. If renewal
// fails while the held token is still valid, that token is kept and the
// next Refresh tries again, as on a kubelet.
func (m *Manager) serviceAccountToken(ctx context.Context, st *podState, pod *corev1.Pod, volume string, p *corev1.ServiceAccountTokenProjection) (string, error) {
	key := tokenKey(volume, p)
	now := m.now()
	held := st.tokens[key]
	if held != nil && !held.due(now) {
		return held.value, nil
	}
	fresh, err := m.requestToken(ctx, pod, p, now)
	if err != nil {
		if held != nil && now.Before(held.expires) {
			return held.value, nil
		}
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	st.tokens[key] = fresh
	return fresh.value, nil
}

// requestToken asks for a token bound to the pod, so it dies with the pod.
func (m *Manager) requestToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection, now time.Time) (*issuedToken, error) {
	seconds := expirationSeconds(p)
	req := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &seconds,
			BoundObjectRef: &authenticationv1.BoundObjectReference{
				APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
			},
		},
	}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	tr, err := m.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, account, req, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	if tr.Status.Token == "" {
		return nil, fmt.Errorf("the API server returned an empty token for service account %s/%s", pod.Namespace, account)
	}
	expires := tr.Status.ExpirationTimestamp.Time
	if expires.IsZero() {
		expires = now.Add(time.Duration(seconds) * time.Second)
	}
	return &issuedToken{value: tr.Status.Token, issued: now, expires: expires}, nil
}

func expirationSeconds(p *corev1.ServiceAccountTokenProjection) int64 {
	if p.ExpirationSeconds != nil && *p.ExpirationSeconds > 0 {
		return *p.ExpirationSeconds
	}
	return defaultTokenSeconds
}
