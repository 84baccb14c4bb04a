package podrunner

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// sidecarPod has a sidecar "proxy", then a regular init container
// "setup", then the regular container "app".
func sidecarPod(policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"},
		Spec: corev1.PodSpec{
			RestartPolicy: policy,
			InitContainers: []corev1.Container{
				{Name: "proxy", Image: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
				{Name: "setup", Image: "setup"},
			},
			Containers: []corev1.Container{{Name: "app", Image: "app"}},
		},
	}
}

func condition(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestSidecarStartsBeforeNextInitAndKeepsRunning(t *testing.T) {
	w, rt, _ := runWorker(t, sidecarPod(corev1.RestartPolicyNever))
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q: the sidecar first, the next init container without waiting for it to exit", got, want)
	}
	exit(t, rt, "setup", 0)
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup", "app"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q", got, want)
	}
	st := w.status()
	if st.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", st.Phase)
	}
	proxy := st.InitContainerStatuses[0]
	if proxy.State.Running == nil || proxy.Started == nil || !*proxy.Started || !proxy.Ready {
		t.Errorf("sidecar status %+v: want running, started and ready", proxy)
	}
	if c := condition(st, corev1.PodInitialized); c.Status != corev1.ConditionTrue {
		t.Errorf("Initialized %s (%s), want True", c.Status, c.Message)
	}
	if c := condition(st, corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready %s (%s), want True", c.Status, c.Message)
	}
}

func TestNextInitWaitsForSidecarStartupProbe(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyAlways)
	// A probe that has not run yet: the test says when it passed.
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{InitialDelaySeconds: 3600,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	w, rt, _ := runWorker(t, pod)
	round(w)
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q: setup must wait for the sidecar's startup probe", got, want)
	}
	st := w.status()
	if proxy := st.InitContainerStatuses[0]; proxy.Started == nil || *proxy.Started || proxy.Ready {
		t.Errorf("sidecar status %+v: want Started false, not ready, before its startup probe passed", proxy)
	}
	if c := condition(st, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Message != "containers with incomplete status: [proxy setup]" {
		t.Errorf("Initialized %s %q, want False with both init containers incomplete", c.Status, c.Message)
	}
	w.ctrs["proxy"].started.Store(true)
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q once the startup probe passed", got, want)
	}
}

func TestSidecarRestartsUnderRestartPolicyNever(t *testing.T) {
	w, rt, _ := runWorker(t, sidecarPod(corev1.RestartPolicyNever))
	round(w)
	exit(t, rt, "setup", 0)
	round(w)
	exit(t, rt, "proxy", 1)
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup", "app", "proxy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q: a sidecar restarts whatever the pod's restartPolicy", got, want)
	}
	st := w.status()
	if st.Phase != corev1.PodRunning || st.InitContainerStatuses[0].RestartCount != 1 {
		t.Errorf("phase %s, sidecar restartCount %d: want Running, 1", st.Phase, st.InitContainerStatuses[0].RestartCount)
	}
	if last := st.InitContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 1 {
		t.Errorf("sidecar lastState %+v, want terminated with exit code 1", st.InitContainerStatuses[0].LastTerminationState)
	}
}

func TestSidecarDoesNotKeepFinishedPodRunning(t *testing.T) {
	for _, tt := range []struct {
		policy corev1.RestartPolicy
		code   int
		want   corev1.PodPhase
	}{
		{corev1.RestartPolicyNever, 0, corev1.PodSucceeded},
		{corev1.RestartPolicyNever, 2, corev1.PodFailed},
		{corev1.RestartPolicyOnFailure, 0, corev1.PodSucceeded},
		{corev1.RestartPolicyAlways, 0, corev1.PodRunning},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			w, rt, _ := runWorker(t, sidecarPod(tt.policy))
			round(w)
			exit(t, rt, "setup", 0)
			round(w)
			exit(t, rt, "app", tt.code)
			round(w)
			if got := w.phase(); got != tt.want {
				t.Errorf("phase %s with the sidecar running, want %s", got, tt.want)
			}
			if !terminal(tt.want) {
				return
			}
			// The next round restarts nothing; finish stops the sidecar.
			exit(t, rt, "proxy", 1)
			round(w)
			if got := rt.Called("StartContainer"); slices.Equal(got[len(got)-1:], []string{"proxy"}) {
				t.Errorf("started %q: a sidecar of a finished pod was restarted", got)
			}
		})
	}
}

func TestSidecarFailureDoesNotFailNeverPod(t *testing.T) {
	w, rt, _ := runWorker(t, sidecarPod(corev1.RestartPolicyNever))
	round(w)
	exit(t, rt, "proxy", 1)
	round(w)
	if got := w.phase(); got != corev1.PodPending {
		t.Errorf("phase %s after the sidecar failed during init, want Pending", got)
	}
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup", "proxy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("started %q, want %q", got, want)
	}
}

func TestSidecarReadinessCountsForPodReady(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyAlways)
	pod.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{InitialDelaySeconds: 3600,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	w, rt, _ := runWorker(t, pod)
	round(w)
	exit(t, rt, "setup", 0)
	round(w)
	st := w.status()
	if proxy := st.InitContainerStatuses[0]; proxy.Ready || proxy.Started == nil || !*proxy.Started {
		t.Errorf("sidecar status %+v: want started, not ready before its readiness probe passed", proxy)
	}
	ready := condition(st, corev1.PodReady)
	if ready.Status != corev1.ConditionFalse || ready.Message != "containers with unready status: [proxy]" {
		t.Errorf("Ready %s %q, want False for the sidecar", ready.Status, ready.Message)
	}
	w.ctrs["proxy"].ready.Store(true)
	if ready := condition(w.status(), corev1.PodReady); ready.Status != corev1.ConditionTrue {
		t.Errorf("Ready %s %q once the sidecar is ready, want True", ready.Status, ready.Message)
	}
}

func TestSidecarLivenessFailureRestartsWithProbeGrace(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyNever)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](500)
	pod.Spec.InitContainers[0].LivenessProbe = &corev1.Probe{InitialDelaySeconds: 3600, TerminationGracePeriodSeconds: ptr.To[int64](5),
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	w, rt, events := runWorker(t, pod)
	round(w)
	exit(t, rt, "setup", 0)
	round(w)
	drain(events)
	w.probes.set(func() { w.probes.by["proxy"].failed = livenessKind })
	round(w)
	round(w)
	if got, want := rt.Called("StartContainer"), []string{"proxy", "setup", "app", "proxy"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q: the sidecar restarted after its liveness probe failed", got, want)
	}
	if got := rt.Grace("proxy"); got <= 4*time.Second || got > 5*time.Second {
		t.Errorf("killed with grace %s, want the probe's 5s, not the pod's 500s", got)
	}
	want := "Normal Killing Init container proxy failed liveness probe"
	if got := drain(events); !slices.Contains(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestSidecarsStopAfterRegularContainersInReverseOrder(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyAlways)
	pod.Spec.InitContainers = append(pod.Spec.InitContainers,
		corev1.Container{Name: "logger", Image: "logger", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "worker", Image: "worker"})
	w, rt, _ := runWorker(t, pod)
	round(w)
	exit(t, rt, "setup", 0)
	round(w)
	if got := rt.Called("StartContainer"); len(got) != 5 {
		t.Fatalf("started %q, want proxy, setup, logger, app and worker", got)
	}
	w.killAll(context.Background(), 5*time.Second)
	var stops []string
	for _, e := range lifecycle(rt) {
		if name, ok := strings.CutPrefix(e, "stop "); ok {
			stops = append(stops, name)
		}
	}
	if len(stops) != 4 || !slices.Contains(stops[:2], "app") || !slices.Contains(stops[:2], "worker") ||
		stops[2] != "logger" || stops[3] != "proxy" {
		t.Errorf("stopped %q, want app and worker, then logger, then proxy", stops)
	}
}

func TestStopOrderWithoutSidecarsIsNil(t *testing.T) {
	pod := onePod(corev1.Container{Name: "c"})
	pod.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	if o := newStopOrder(pod, map[string]bool{"c": true}); o != nil {
		t.Errorf("stop order %+v for a pod without sidecars, want none", o)
	}
}
