package hostregistration

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

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
// this host's nodes: first status, start, and final deletion.
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
	if needsFirstStatus(pod) {
		pod, err = a.postFirstStatus(ctx, pod, node)
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile: its delete event follows
		}
		if err != nil {
			return err
		}
	}
	return a.sandboxes.start(ctx, pod, node)
}

// needsFirstStatus reports whether pod still lacks the status a kubelet
// posts when it takes a pod on. Once that is posted, a sandbox owns it.
func needsFirstStatus(pod *corev1.Pod) bool {
	pending := pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending
	return pending && (pod.Status.StartTime == nil || pod.Status.PodIP == "")
}

// postFirstStatus patches pod's status to what a kubelet posts before its
// containers exist: the node's IP, which is the pod's own, a start time and
// containers waiting to be created. The metadata.uid in the patch is a
// precondition, as in kubelet's status patches.
func (a *agent) postFirstStatus(ctx context.Context, pod *corev1.Pod, node *corev1.Node) (*corev1.Pod, error) {
	addr, err := podnode.IP(node)
	if err != nil {
		return nil, err
	}
	ip := addr.String()
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   firstStatus(pod, ip, metav1.NewTime(a.cfg.Now())),
	})
	if err != nil {
		return nil, err
	}
	out, err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return nil, fmt.Errorf("posting the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	a.log.V(2).Info("Posted first pod status", "pod", klog.KObj(pod), "ip", ip)
	return out, nil
}

// firstStatus is pod's status before its sandbox runs.
func firstStatus(pod *corev1.Pod, ip string, now metav1.Time) corev1.PodStatus {
	waiting := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		waiting = "PodInitializing" // kubelet's reason for every container until init ends
	}
	return corev1.PodStatus{
		Phase:                 corev1.PodPending,
		Conditions:            pendingConditions(pod, now),
		HostIP:                ip,
		HostIPs:               []corev1.HostIP{{IP: ip}},
		PodIP:                 ip,
		PodIPs:                []corev1.PodIP{{IP: ip}},
		StartTime:             &now,
		InitContainerStatuses: waitingStatuses(pod.Spec.InitContainers, waiting),
		ContainerStatuses:     waitingStatuses(pod.Spec.Containers, waiting),
	}
}

// pendingConditions are kubelet's conditions for a scheduled pod whose
// sandbox is not up yet.
func pendingConditions(pod *corev1.Pod, now metav1.Time) []corev1.PodCondition {
	unready := fmt.Sprintf("containers with unready status: %v", containerNames(pod.Spec.Containers))
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if len(pod.Spec.InitContainers) > 0 {
		initialized = corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: "ContainersNotInitialized",
			Message: fmt.Sprintf("containers with incomplete status: %v", containerNames(pod.Spec.InitContainers))}
	}
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse},
		initialized,
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: unready},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: unready},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}
	KeepTransitionTimes(conds, pod.Status.Conditions, now)
	return conds
}

// KeepTransitionTimes stamps conds with now, except those whose status is
// what previous said: they keep the time of their last transition.
func KeepTransitionTimes(conds, previous []corev1.PodCondition, now metav1.Time) {
	for i := range conds {
		conds[i].LastTransitionTime = now
		for _, old := range previous {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
}

func waitingStatuses(containers []corev1.Container, reason string) []corev1.ContainerStatus {
	statuses := make([]corev1.ContainerStatus, 0, len(containers))
	for _, c := range containers {
		// Started is set, false, as a kubelet sets it: clients read it
		// without a nil check (e2e's WaitForPodContainerStarted does).
		statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false),
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}})
	}
	return statuses
}

func containerNames(containers []corev1.Container) []string {
	names := make([]string, 0, len(containers))
	for _, c := range containers {
		names = append(names, c.Name)
	}
	return names
}
