package podrunner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/buffer"

	"github.com/fargo-dev/fargo/internal/containerlog"
	"github.com/fargo-dev/fargo/internal/sandbox"
)

// A kubelet's limits on termination messages (k8s.io/kubernetes/pkg/kubelet/container):
// a pod's messages together, and what FallbackToLogsOnError takes from
// the end of the log.
const (
	maxPodTerminationMessages = 12 << 10
	maxLogMessageBytes        = 2 << 10
	maxLogMessageLines        = 80
)

// terminationMessage is the message an exited attempt of c reports: what
// it wrote to its terminationMessagePath, else, with FallbackToLogsOnError
// and a failure, the end of its log.
func (w *podWorker) terminationMessage(c *container, a *sandbox.ContainerStatus) string {
	if a.TerminationMessage != "" || c.spec.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError || a.ExitCode == 0 {
		return a.TerminationMessage
	}
	// Read once: the log of an exited attempt no longer changes.
	if m, ok := w.logMessages[a.ID]; ok {
		return m
	}
	m := lastLogLines(logPath(w.a.cfg.LogDir, w.current(), c.spec.Name, a.Attempt))
	w.logMessages[a.ID] = m
	return m
}

// lastLogLines is the end of a CRI log as FallbackToLogsOnError takes it:
// the last 80 lines, at most their last 2 KiB.
func lastLogLines(path string) string {
	buf, _ := buffer.NewTypedRingFixed[byte](maxLogMessageBytes)
	lines := int64(maxLogMessageLines)
	if err := containerlog.Read(context.Background(), path, &corev1.PodLogOptions{TailLines: &lines}, nil, buf, buf); err != nil {
		return fmt.Sprintf("Error on reading termination message from logs: %v", err)
	}
	return string(buf.Slice())
}

// limitTerminationMessages cuts each message to its share of the pod's
// 12 KiB, as a kubelet's status manager does.
func limitTerminationMessages(pod *corev1.Pod, st *corev1.PodStatus) {
	share := maxPodTerminationMessages
	if n := len(pod.Spec.Containers) + len(pod.Spec.InitContainers) + len(pod.Spec.EphemeralContainers); n > 0 {
		share /= n
	}
	cut := func(s *corev1.ContainerState) {
		if t := s.Terminated; t != nil && len(t.Message) > share {
			t.Message = t.Message[:share]
		}
	}
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for i := range list {
			cut(&list[i].State)
			cut(&list[i].LastTerminationState)
		}
	}
}
