package logrouter

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/logpipe/filter"
)

// apiPods answers the kubernetes filter from the API server; the filter
// caches answers for Kube_Meta_Cache_TTL.
type apiPods struct{ client kubernetes.Interface }

var _ filter.PodSource = apiPods{}

func (a apiPods) Pod(ctx context.Context, namespace, name string) (*filter.PodMeta, error) {
	pod, err := a.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	meta := &filter.PodMeta{
		UID: string(pod.UID), Host: pod.Spec.NodeName,
		Labels: pod.Labels, Annotations: pod.Annotations,
		Containers: map[string]filter.ContainerMeta{},
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, st := range list {
			meta.Containers[st.Name] = filter.ContainerMeta{Image: st.Image, ImageID: st.ImageID}
		}
	}
	return meta, nil
}
