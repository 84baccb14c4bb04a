package podenv

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// Source is where referenced objects come from: the agent passes listers
// or a client. A missing object is reported with an API NotFound error.
type Source interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	// Services lists the services of one namespace, for service env vars.
	Services(ctx context.Context, namespace string) ([]*corev1.Service, error)
}

// ClientSource reads straight from the API server, one request per call.
func ClientSource(c kubernetes.Interface) Source {
	return clientSource{client: c}
}

type clientSource struct {
	client kubernetes.Interface
}

func (s clientSource) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s clientSource) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s clientSource) Services(ctx context.Context, namespace string) ([]*corev1.Service, error) {
	list, err := s.client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Service, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// kubeletNotFound rewrites an API NotFound error in the words a kubelet
// uses (its object caches say `configmap "x" not found`, where the API
// server says `configmaps "x" not found`), so users see the messages they
// know from CreateContainerConfigError. Other errors pass unchanged.
func kubeletNotFound(resource, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return err
}
