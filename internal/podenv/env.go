// Package podenv builds a container's environment the way a kubelet does:
// service link variables, then envFrom, then env with $(VAR) expansion and
// valueFrom references (fieldRef, resourceFieldRef, configMapKeyRef,
// secretKeyRef). Errors carry the kubelet's CreateContainerConfigError
// messages, e.g. `configmap "x" not found`. FieldRef and ResourceFieldRef
// are shared with downwardAPI volumes (internal/podvolume).
package podenv

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// Container returns c's environment as KEY=VALUE, in a stable order:
// service variables (sorted), then envFrom in declaration order, then env
// in declaration order. A variable defined again replaces the earlier
// definition and takes the later place, so the list never holds a name
// twice; the values are what a kubelet would give (it builds the same map,
// in random order).
func Container(ctx context.Context, pod *corev1.Pod, c *corev1.Container, src Source) ([]string, error) {
	services, err := serviceEnv(ctx, pod, src)
	if err != nil {
		return nil, err
	}
	milliCPU, memoryBytes := provisionedSize(pod)
	b := &builder{pod: pod, src: src, vars: newOrderedEnv(), milliCPU: milliCPU, memoryBytes: memoryBytes}
	for _, kv := range services {
		b.vars.set(kv.name, kv.value)
	}
	for i := range c.EnvFrom {
		if err := b.addEnvFrom(ctx, &c.EnvFrom[i]); err != nil {
			return nil, err
		}
	}
	for i := range c.Env {
		if err := b.addEnv(ctx, c, &c.Env[i]); err != nil {
			return nil, err
		}
	}
	return b.vars.list(), nil
}

// builder resolves one container's variables, fetching each referenced
// configMap and secret once.
type builder struct {
	pod        *corev1.Pod
	src        Source
	vars       *orderedEnv
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	// milliCPU and memoryBytes are the pod's provisioned size, what a
	// missing limit reads as (a kubelet reads node allocatable, and on
	// fargo the pod's node is exactly its size).
	milliCPU, memoryBytes int64
}

func (b *builder) addEnvFrom(ctx context.Context, from *corev1.EnvFromSource) error {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := b.configMap(ctx, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
				return nil
			}
			return err
		}
		for _, k := range sortedKeys(cm.Data) {
			b.setFromSource(from.Prefix+k, cm.Data[k])
		}
	case from.SecretRef != nil:
		s, err := b.secret(ctx, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.SecretRef.Optional) {
				return nil
			}
			return err
		}
		for _, k := range sortedKeys(s.Data) {
			b.setFromSource(from.Prefix+k, string(s.Data[k]))
		}
	}
	return nil
}

// setFromSource skips names that cannot be written as KEY=VALUE at all.
// The API server already rejects keys that are not valid variable names,
// and since relaxed env var validation a kubelet passes the rest through.
func (b *builder) setFromSource(name, value string) {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return
	}
	b.vars.set(name, value)
}

func (b *builder) addEnv(ctx context.Context, c *corev1.Container, env *corev1.EnvVar) error {
	if env.Value != "" || env.ValueFrom == nil {
		// Only a literal value is expanded, and only against what is
		// defined so far: an unknown $(VAR) stays as written.
		b.vars.set(env.Name, expansion.Expand(env.Value, b.vars.lookup))
		return nil
	}
	value, ok, err := b.valueFrom(ctx, c, env.ValueFrom)
	if err != nil {
		return err
	}
	if ok {
		b.vars.set(env.Name, value)
	}
	return nil
}

// valueFrom resolves a reference; ok is false when an optional reference
// points at nothing, and then the variable is left out.
func (b *builder) valueFrom(ctx context.Context, c *corev1.Container, from *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		if v := from.FieldRef.APIVersion; v != "" && v != "v1" {
			return "", false, fmt.Errorf("unsupported pod version: %s", v)
		}
		value, err := FieldRef(b.pod, from.FieldRef.FieldPath)
		return value, err == nil, err
	case from.ResourceFieldRef != nil:
		value, err := ResourceFieldRef(b.pod, c.Name, from.ResourceFieldRef, b.milliCPU, b.memoryBytes)
		return value, err == nil, err
	case from.ConfigMapKeyRef != nil:
		return b.configMapKey(ctx, from.ConfigMapKeyRef)
	case from.SecretKeyRef != nil:
		return b.secretKey(ctx, from.SecretKeyRef)
	}
	return "", false, nil
}

func (b *builder) configMapKey(ctx context.Context, ref *corev1.ConfigMapKeySelector) (string, bool, error) {
	optional := isTrue(ref.Optional)
	cm, err := b.configMap(ctx, ref.Name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return "", false, nil
		}
		return "", false, err
	}
	value, ok := cm.Data[ref.Key]
	if !ok && !optional {
		return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, b.pod.Namespace, ref.Name)
	}
	return value, ok, nil
}

func (b *builder) secretKey(ctx context.Context, ref *corev1.SecretKeySelector) (string, bool, error) {
	optional := isTrue(ref.Optional)
	s, err := b.secret(ctx, ref.Name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return "", false, nil
		}
		return "", false, err
	}
	value, ok := s.Data[ref.Key]
	if !ok && !optional {
		return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, b.pod.Namespace, ref.Name)
	}
	return string(value), ok, nil
}

func (b *builder) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if cm, ok := b.configMaps[name]; ok {
		return cm, nil
	}
	cm, err := b.src.ConfigMap(ctx, b.pod.Namespace, name)
	if err != nil {
		return nil, kubeletNotFound("configmap", name, err)
	}
	if b.configMaps == nil {
		b.configMaps = map[string]*corev1.ConfigMap{}
	}
	b.configMaps[name] = cm
	return cm, nil
}

func (b *builder) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := b.secrets[name]; ok {
		return s, nil
	}
	s, err := b.src.Secret(ctx, b.pod.Namespace, name)
	if err != nil {
		return nil, kubeletNotFound("secret", name, err)
	}
	if b.secrets == nil {
		b.secrets = map[string]*corev1.Secret{}
	}
	b.secrets[name] = s
	return s, nil
}

func isTrue(b *bool) bool { return b != nil && *b }
