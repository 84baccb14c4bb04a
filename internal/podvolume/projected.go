package podvolume

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"

	corev1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// setUpProjected gathers every source of a projected volume into one set
// of files; the kube-api-access-* volume every pod gets is one (a token,
// kube-root-ca.crt's ca.crt and the namespace). Like a kubelet, it tries
// every source and reports all failures together.
func (m *Manager) setUpProjected(ctx context.Context, st *podState, pod *corev1.Pod, v *corev1.Volume, dir string, sz size) error {
	src := v.Projected
	mode := modeOf(src.DefaultMode, defaultMode)
	payload := map[string]file{}
	var errs []error
	for _, s := range src.Sources {
		files, err := m.projection(ctx, st, pod, v.Name, s, mode, sz)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		maps.Copy(payload, files)
	}
	switch len(errs) {
	case 0:
	case 1:
		return errs[0] // kept whole, so callers can still test it
	default:
		return utilerrors.NewAggregate(errs) // "[a, b]", the kubelet's text
	}
	if err := ensureTmpfs(dir, sz.memoryBytes, 0o755); err != nil {
		return err
	}
	return publish(dir, payload, fsGroup(pod), m.now())
}

func (m *Manager) projection(ctx context.Context, st *podState, pod *corev1.Pod, volume string, s corev1.VolumeProjection, mode int32, sz size) (map[string]file, error) {
	switch {
	case s.ConfigMap != nil:
		return m.configMapPayload(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, mode, isTrue(s.ConfigMap.Optional))
	case s.Secret != nil:
		return m.secretPayload(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, mode, isTrue(s.Secret.Optional))
	case s.DownwardAPI != nil:
		return downwardAPIPayload(pod, s.DownwardAPI.Items, mode, sz)
	case s.ServiceAccountToken != nil:
		return m.tokenPayload(ctx, st, pod, volume, s.ServiceAccountToken, mode)
	case s.ClusterTrustBundle != nil:
		return nil, errors.New("clusterTrustBundle projections are not supported on fargo hosts yet: project the bundle from a configMap instead")
	case s.PodCertificate != nil:
		return nil, errors.New("podCertificate projections are not supported on fargo hosts yet")
	}
	return map[string]file{}, nil
}

func (m *Manager) tokenPayload(ctx context.Context, st *podState, pod *corev1.Pod, volume string, p *corev1.ServiceAccountTokenProjection, mode int32) (map[string]file, error) {
	token, err := m.serviceAccountToken(ctx, st, pod, volume, p)
	if err != nil {
		return nil, err
	}
	// With fsGroup the token is 0600 and publish adds group read (0640),
	// as a kubelet does: never readable by others.
	if fsGroup(pod) != nil {
		mode = 0o600
	}
	return map[string]file{p.Path: {data: []byte(token), mode: os.FileMode(mode)}}, nil
}

// tokenKey names one token of a pod: the volume and projection it is for.
func tokenKey(volume string, p *corev1.ServiceAccountTokenProjection) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d", volume, p.Path, p.Audience, expirationSeconds(p))
}
