package hostregistration

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
	"k8s.io/kubernetes/pkg/kubelet/sysctl"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// admitter is a kubelet's pod admission for pods bound to a pod-node: a
// pod it refuses is Failed at once with the kubelet's reason, and never
// gets a sandbox.
type admitter struct {
	sysctls lifecycle.PodAdmitHandler
}

func newAdmitter() *admitter {
	// The kubelet's default: only the sysctls it knows to be safe and
	// namespaced (no --allowed-unsafe-sysctls). Those patterns are
	// upstream's own and valid, so NewAllowlist cannot fail on them.
	allow, err := sysctl.NewAllowlist(sysctl.SafeSysctlAllowlist(context.Background()))
	if err != nil {
		panic(fmt.Sprintf("hostregistration: the kubelet's safe sysctls: %v", err))
	}
	return &admitter{sysctls: allow}
}

// admit says why pod may not run on node, in a kubelet's words, or "".
// The checks run in a kubelet's order: the OS, the node's capacity (a
// pod-node holds one pod: its own), then sysctls.
func (a *admitter) admit(pod *corev1.Pod, node *corev1.Node) (reason, message string) {
	if os, ok := pod.Spec.NodeSelector[corev1.LabelOSStable]; ok && os != node.Labels[corev1.LabelOSStable] {
		return lifecycle.PodOSSelectorNodeLabelDoesNotMatch, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != node.Labels[corev1.LabelOSStable] {
		return lifecycle.PodOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS"
	}
	if own, ok := podnode.PodOf(node); !ok || own.UID != pod.UID {
		return "OutOfpods", "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"
	}
	if r := a.sysctls.Admit(&lifecycle.PodAdmitAttributes{Pod: pod}); !r.Admit {
		return r.Reason, r.Message
	}
	return "", ""
}

// reject fails pod as a kubelet's rejectPod does: a Warning event with the
// reason, and status Failed, "Pod was rejected: MESSAGE".
func (a *agent) reject(ctx context.Context, pod *corev1.Pod, node *corev1.Node, reason, message string) error {
	if pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	a.log.Info("Pod rejected", "pod", klog.KObj(pod), "node", node.Name, "reason", reason, "message", message)
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   map[string]any{"phase": corev1.PodFailed, "reason": reason, "message": "Pod was rejected: " + message},
	})
	if err != nil {
		return err
	}
	if _, err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("rejecting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	now := metav1.NewTime(a.cfg.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion},
		Reason: reason, Message: message, Type: corev1.EventTypeWarning, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source:              corev1.EventSource{Component: "kubelet", Host: node.Name},
		ReportingController: "kubelet", ReportingInstance: node.Name,
	}
	if _, err := a.cfg.Client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		a.log.V(2).Info("Recording the rejection event failed", "pod", klog.KObj(pod), "err", err)
	}
	return nil
}
