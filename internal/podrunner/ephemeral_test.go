package podrunner

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func withDebugger(pod *corev1.Pod) *corev1.Pod {
	pod = pod.DeepCopy()
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox", Command: []string{"sh"}, Stdin: true, TTY: true},
	})
	return pod
}

func TestEphemeralContainerStartsInRunningPodAndNeverRestarts(t *testing.T) {
	pod := onePod(corev1.Container{Name: "app", Image: "app"})
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	w, rt, _ := runWorker(t, pod)
	round(w)
	w.update(withDebugger(w.current())) // as Agent.Start does on the pod's update
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"app", "debugger"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q", got, want)
	}
	st := w.status()
	if len(st.EphemeralContainerStatuses) != 1 {
		t.Fatalf("ephemeralContainerStatuses %+v, want the debugger's", st.EphemeralContainerStatuses)
	}
	dbg := st.EphemeralContainerStatuses[0]
	if dbg.Name != "debugger" || dbg.State.Running == nil || dbg.ContainerID != "runc://debugger-0" || dbg.Ready || dbg.Started != nil {
		t.Errorf("debugger status %+v: want running, its ID, not ready, no started (as a kubelet)", dbg)
	}
	if c := condition(st, corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready %s %q: an ephemeral container must not count", c.Status, c.Message)
	}
	ref, err := w.a.Container(pod.UID, "debugger", false)
	if err != nil || ref.ID != "debugger-0" || !ref.Running {
		t.Errorf("kubelet API lookup of the debugger: %+v, %v; want its running attempt", ref, err)
	}

	exit(t, rt, "debugger", 0)
	round(w)
	round(w)
	if got := rt.Called("StartContainer"); len(got) != 2 {
		t.Errorf("started %q: an ephemeral container is never restarted", got)
	}
	if term := w.status().EphemeralContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 {
		t.Errorf("debugger state %+v, want terminated with 0", w.status().EphemeralContainerStatuses[0].State)
	}
}

func TestEphemeralContainerStartsDuringInit(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyAlways)
	pod.Spec.InitContainers = pod.Spec.InitContainers[1:] // setup only: it keeps running
	w, rt, _ := runWorker(t, withDebugger(pod))
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"debugger", "setup"}; !reflect.DeepEqual(got, want) {
		t.Errorf("started %q, want %q: ephemeral containers need not wait for init", got, want)
	}
	if got := w.phase(); got != corev1.PodPending {
		t.Errorf("phase %s, want Pending: an ephemeral container does not make a pod run", got)
	}
}
