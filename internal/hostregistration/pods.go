package hostregistration

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// watchPods sets up the informer on Fargate pods. Which of them are this
// host's is decided in syncPod, against the node informer: the host's
// nodes cannot be named in a field selector, and there may be hundreds.
func (a *agent) watchPods() {
	selector := fields.OneTermEqualSelector("spec.schedulerName", podnode.SchedulerName).String()
	f := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = selector }))
	a.pods = f.Core().V1().Pods().Informer()
	enqueueBound := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.SchedulerName == podnode.SchedulerName && p.Spec.NodeName != "" {
			a.podLoop.Add(cache.MetaObjectToName(p).String())
		}
	}
	_, _ = a.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueBound,
		UpdateFunc: func(_, obj any) { enqueueBound(obj) },
		DeleteFunc: func(obj any) {
			// Whatever the pod was, a sandbox started for it must stop.
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				a.podLoop.Add(key)
			}
		},
	})
	a.factories = append(a.factories, f)
}

// syncPod does a kubelet's part for the pod key if it is bound to one of
// this host's nodes: admission, start, and final deletion. The pod's
// statuses, its first included, are its sandbox's to post.
func (a *agent) syncPod(ctx context.Context, key string) error {
	obj, exists, err := a.pods.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		return a.sandboxes.stopGone(ctx, key)
	}
	pod := obj.(*corev1.Pod)
	node := a.ownNode(pod.Spec.NodeName)
	if node == nil || pod.Spec.SchedulerName != podnode.SchedulerName {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		return a.finish(ctx, pod)
	}
	if reason, message := a.admitter.admit(pod, node); reason != "" {
		return a.reject(ctx, pod, node, reason, message)
	}
	return a.sandboxes.start(ctx, pod, node)
}
