package podvolume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fargo-dev/fargo/internal/podenv"
)

// defaultMode is the API's default for projected files.
const defaultMode = 0o644

func (m *Manager) setUpConfigMap(ctx context.Context, pod *corev1.Pod, src *corev1.ConfigMapVolumeSource, dir string) error {
	payload, err := m.configMapPayload(ctx, pod.Namespace, src.Name, src.Items, modeOf(src.DefaultMode, defaultMode), isTrue(src.Optional))
	if err != nil {
		return err
	}
	return publish(dir, payload, fsGroup(pod), m.now())
}

func (m *Manager) setUpSecret(ctx context.Context, pod *corev1.Pod, src *corev1.SecretVolumeSource, dir string, sz size) error {
	payload, err := m.secretPayload(ctx, pod.Namespace, src.SecretName, src.Items, modeOf(src.DefaultMode, defaultMode), isTrue(src.Optional))
	if err != nil {
		return err
	}
	if err := ensureTmpfs(dir, sz.memoryBytes, 0o755); err != nil {
		return err
	}
	return publish(dir, payload, fsGroup(pod), m.now())
}

func (m *Manager) setUpDownwardAPI(pod *corev1.Pod, src *corev1.DownwardAPIVolumeSource, dir string, sz size) error {
	payload, err := downwardAPIPayload(pod, src.Items, modeOf(src.DefaultMode, defaultMode), sz)
	if err != nil {
		return err
	}
	return publish(dir, payload, fsGroup(pod), m.now())
}

// configMapPayload gives the files of a configMap: every key, or the listed
// items. A missing optional configMap gives no files.
func (m *Manager) configMapPayload(ctx context.Context, ns, name string, items []corev1.KeyToPath, mode int32, optional bool) (map[string]file, error) {
	cm, err := m.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]file{}, nil
		}
		return nil, kubeletNotFound("configmap", name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles(data, items, mode, optional, "configmap references non-existent config key: %s")
}

// secretPayload gives the files of a secret: every key, or the listed
// items. A missing optional secret gives no files.
func (m *Manager) secretPayload(ctx context.Context, ns, name string, items []corev1.KeyToPath, mode int32, optional bool) (map[string]file, error) {
	s, err := m.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]file{}, nil
		}
		return nil, kubeletNotFound("secret", name, err)
	}
	return keyFiles(s.Data, items, mode, optional, "references non-existent secret key: %s")
}

// keyFiles maps keys to files; missingKey is the kubelet's message for an
// item whose key is not there.
func keyFiles(data map[string][]byte, items []corev1.KeyToPath, mode int32, optional bool, missingKey string) (map[string]file, error) {
	out := map[string]file{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = file{data: v, mode: os.FileMode(mode)}
		}
		return out, nil
	}
	for _, item := range items {
		v, ok := data[item.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf(missingKey, item.Key)
		}
		out[item.Path] = file{data: v, mode: os.FileMode(modeOf(item.Mode, mode))}
	}
	return out, nil
}

// downwardAPIPayload resolves each item through podenv, the same code as
// env vars. A missing limit reads as the pod's provisioned size.
func downwardAPIPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode int32, sz size) (map[string]file, error) {
	out := map[string]file{}
	for _, item := range items {
		var value string
		var err error
		switch {
		case item.FieldRef != nil:
			value, err = podenv.FieldRef(pod, item.FieldRef.FieldPath)
		case item.ResourceFieldRef != nil:
			// A volume item names its container; there is no default one.
			value, err = podenv.ResourceFieldRef(pod, "", item.ResourceFieldRef, sz.milliCPU, sz.memoryBytes)
		}
		if err != nil {
			return nil, err
		}
		out[filepath.Clean(item.Path)] = file{data: []byte(value), mode: os.FileMode(modeOf(item.Mode, mode))}
	}
	return out, nil
}

// modeOf returns *mode when set, else fallback.
func modeOf(mode *int32, fallback int32) int32 {
	if mode != nil {
		return *mode
	}
	return fallback
}

func fsGroup(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// kubeletNotFound words a NotFound as a kubelet's object cache does,
// `configmap "x" not found` (the API server says `configmaps`), so the
// FailedMount event reads as users know it.
func kubeletNotFound(resource, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return err
}
