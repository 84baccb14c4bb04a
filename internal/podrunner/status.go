package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// phase is the pod's phase by kubelet's rules, from what its containers do.
func (w *podWorker) phase() corev1.PodPhase {
	pod := w.current()
	if w.deadlineExceeded {
		return corev1.PodFailed
	}
	if !w.initDone {
		for i := range pod.Spec.InitContainers {
			spec := &pod.Spec.InitContainers[i]
			c := w.ctrs[spec.Name]
			// A sidecar that exits is restarted: it never fails the pod.
			if c != nil && !isSidecar(spec) && c.exited() && !c.succeeded() && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				return corev1.PodFailed
			}
		}
		return corev1.PodPending
	}
	// Only regular containers count: sidecars do not keep a pod whose
	// regular containers ended from finishing (kubelet then stops them).
	var running, waiting, succeeded, failed int
	for i := range pod.Spec.Containers {
		c := w.ctrs[pod.Spec.Containers[i].Name]
		switch {
		case c == nil || c.cur == nil:
			waiting++
		case c.running():
			running++
		case c.succeeded():
			succeeded++
		default:
			failed++
		}
	}
	switch {
	case waiting > 0 && running+succeeded+failed == 0:
		return corev1.PodPending
	case running > 0 || waiting > 0:
		return corev1.PodRunning
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		if failed > 0 {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	case corev1.RestartPolicyOnFailure:
		if failed > 0 {
			return corev1.PodRunning // restarting
		}
		return corev1.PodSucceeded
	}
	return corev1.PodRunning
}

// status is the pod status the worker's state gives.
func (w *podWorker) status() corev1.PodStatus {
	pod := w.withOwnStatus(w.current())
	st := corev1.PodStatus{
		Phase:  w.phase(),
		HostIP: pod.Status.HostIP, HostIPs: pod.Status.HostIPs,
		PodIP: pod.Status.PodIP, PodIPs: pod.Status.PodIPs,
		StartTime: pod.Status.StartTime,
		QOSClass:  pod.Status.QOSClass,
	}
	for i := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, w.containerStatus(&pod.Spec.InitContainers[i]))
	}
	for i := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, w.containerStatus(&pod.Spec.Containers[i]))
	}
	st.EphemeralContainerStatuses = w.ephemeralStatuses(pod)
	if w.deadlineExceeded {
		st.Reason, st.Message = deadlineReason, deadlineMessage
	}
	limitTerminationMessages(pod, &st)
	st.Conditions = w.conditions(pod, st)
	return st
}

func (w *podWorker) containerStatus(spec *corev1.Container) corev1.ContainerStatus {
	c := w.ctrs[spec.Name]
	out := corev1.ContainerStatus{Name: spec.Name, Image: spec.Image}
	if c == nil {
		// Started is false, not absent, as a kubelet says: clients read
		// it without a nil check (e2e's WaitForPodContainerStarted does).
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.defaultWaiting()}
		out.Started = ptr.To(false)
		return out
	}
	if c.imageName != "" {
		out.Image, out.ImageID = c.imageName, c.imageID
	}
	out.RestartCount = c.restartCount()
	if c.cur != nil {
		out.ContainerID = w.runtimeName(w.current()) + "://" + c.cur.ID
		out.State = w.state(c, c.cur)
	}
	if c.last != nil {
		out.LastTerminationState = w.state(c, c.last)
	}
	switch {
	case c.waitReason != "":
		out.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: c.waitReason, Message: c.waitMessage}}
		if c.cur != nil {
			out.LastTerminationState = w.state(c, c.cur)
		}
	case c.cur == nil:
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.defaultWaiting()}
	}
	running := c.running() && c.waitReason == ""
	out.Started = &running
	// A kubelet reports an init container that completed as ready; a
	// sidecar, like a regular container, only while it runs.
	out.Ready = c.init && !c.sidecar() && c.succeeded() && c.waitReason == ""
	if running {
		started := c.started.Load()
		out.Started = &started
		out.Ready = c.ready.Load() && started
	}
	return out
}

func (w *podWorker) defaultWaiting() string {
	if !w.initDone {
		return "PodInitializing"
	}
	return "ContainerCreating"
}

// state turns an attempt of c into a Kubernetes container state.
func (w *podWorker) state(c *container, a *sandbox.ContainerStatus) corev1.ContainerState {
	id := w.runtimeName(w.current()) + "://" + a.ID
	switch a.State {
	case sandbox.StateRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(a.StartedAt)}}
	case sandbox.StateExited:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: int32(a.ExitCode), Reason: a.Reason, ContainerID: id, Message: w.terminationMessage(c, a),
			StartedAt: metav1.NewTime(a.StartedAt), FinishedAt: metav1.NewTime(a.FinishedAt),
		}}
	}
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
}

// conditions are kubelet's pod conditions for st; a condition keeps its
// transition time while its status stays.
func (w *podWorker) conditions(pod *corev1.Pod, st corev1.PodStatus) []corev1.PodCondition {
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	sandboxUp := corev1.ConditionTrue
	if !w.sandboxUp || terminal && w.finished {
		sandboxUp = corev1.ConditionFalse
	}
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: sandboxUp},
		w.initializedCondition(pod),
	}
	containersReady := w.readyCondition(pod, st, terminal)
	ready := gateReady(pod, containersReady)
	containersReady.Type = corev1.ContainersReady
	conds = append(conds, ready, containersReady, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	// What this worker posted last is newer than an informer's copy.
	previous := pod.Status.Conditions
	if w.posted != nil {
		previous = w.posted.Conditions
	}
	keepTransitionTimes(conds, previous, metav1.NewTime(w.a.cfg.Now()))
	return append(conds, foreignConditions(pod)...)
}

func (w *podWorker) initializedCondition(pod *corev1.Pod) corev1.PodCondition {
	if w.initDone {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	}
	var pending []string
	for i := range pod.Spec.InitContainers {
		c := w.ctrs[pod.Spec.InitContainers[i].Name]
		switch {
		case c == nil:
		case c.sidecar() && c.startedNow():
			continue
		case !c.sidecar() && c.succeeded():
			continue
		}
		pending = append(pending, pod.Spec.InitContainers[i].Name)
	}
	return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: "ContainersNotInitialized",
		Message: fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(pending, " "))}
}

func (w *podWorker) readyCondition(pod *corev1.Pod, st corev1.PodStatus, terminal bool) corev1.PodCondition {
	if terminal {
		reason := "PodCompleted"
		if st.Phase == corev1.PodFailed {
			reason = "PodFailed"
		}
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reason}
	}
	// Sidecars' readiness counts, before the regular containers'.
	var unready []string
	for i, cs := range st.InitContainerStatuses {
		if isSidecar(&pod.Spec.InitContainers[i]) && !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	if len(unready) == 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady",
		Message: fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))}
}

// syncStatus posts the pod's status when it changed. A merge patch of
// the whole status, with the UID as precondition, as a kubelet does.
func (w *podWorker) syncStatus(ctx context.Context) {
	st := w.status()
	if w.posted != nil && apiequality.Semantic.DeepEqual(*w.posted, st) {
		return
	}
	pod := w.current()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": st})
	if err != nil {
		w.log.Error(err, "Encoding pod status")
		return
	}
	out, err := w.a.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		w.log.V(2).Info("Posting pod status failed, will retry", "err", err)
		return
	}
	w.posted = &st
	w.update(out)
	if w.sandboxUp {
		w.settled.Store(true)
	}
}

// withOwnStatus is pod with what its status says once the worker posted
// one, its addresses and start time, for readers of the status (the
// downward API's status.podIP, the active deadline) before it is: a
// quick start posts its first status after its containers start.
func (w *podWorker) withOwnStatus(pod *corev1.Pod) *corev1.Pod {
	out := *pod
	ip := w.ip.String()
	out.Status.PodIP, out.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	out.Status.HostIP, out.Status.HostIPs = ip, []corev1.HostIP{{IP: ip}}
	if out.Status.StartTime == nil {
		out.Status.StartTime = &w.startTime
	}
	return &out
}

// postPending posts the pod's status before a step that takes a while (a
// VM's boot, an image's download, a set-up that failed and waits to be
// tried again), if none is posted yet: the pod then shows its IP and
// ContainerCreating meanwhile. A quick start posts one status, with its
// containers running, as a kubelet's status manager does when the pod
// is up before it writes.
func (w *podWorker) postPending(ctx context.Context) {
	if w.posted == nil {
		w.syncStatus(ctx)
	}
}

// keepTransitionTimes stamps conds with now, except those whose status is
// what previous said: they keep the time of their last transition.
func keepTransitionTimes(conds, previous []corev1.PodCondition, now metav1.Time) {
	for i := range conds {
		conds[i].LastTransitionTime = now
		for _, old := range previous {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
}
