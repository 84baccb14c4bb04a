package podrunner

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestRestartBackOffDoubles: a container that keeps failing under
// restartPolicy Always restarts at once the first time, then waits 10 s,
// then 20 s, in CrashLoopBackOff meanwhile, as a kubelet does.
func TestRestartBackOffDoubles(t *testing.T) {
	w, rt, _ := runWorker(t, appPod(corev1.RestartPolicyAlways))
	var ahead time.Duration // how far the worker's clock is ahead of the runtime's
	clock := func() time.Time { return time.Now().Add(ahead) }
	w.a.cfg.Now, w.a.backoff = clock, newBackoffs(clock)
	starts := func() int { return len(rt.Called("StartContainer")) }

	round(w)
	exit(t, rt, "app", 1)
	round(w)
	if starts() != 2 {
		t.Fatalf("%d starts after the first failure, want 2: the first restart does not wait", starts())
	}
	for _, delay := range []time.Duration{10 * time.Second, 20 * time.Second} {
		exit(t, rt, "app", 1) // the runtime stamps the exit with its own clock
		before := starts()
		ahead = delay - time.Second
		round(w)
		if got := w.status().ContainerStatuses[0].State.Waiting; starts() != before || got == nil || got.Reason != "CrashLoopBackOff" {
			t.Fatalf("%v into a %v back-off: %d starts (want %d), waiting %+v (want CrashLoopBackOff)", delay-time.Second, delay, starts(), before, got)
		}
		ahead = delay + time.Second
		round(w)
		if starts() != before+1 {
			t.Fatalf("%v into a %v back-off: %d starts, want %d", delay+time.Second, delay, starts(), before+1)
		}
	}
	if n := w.status().ContainerStatuses[0].RestartCount; n != 3 {
		t.Errorf("restartCount %d, want 3", n)
	}
}

// TestAdoptsRunningContainer: a worker started beside a container that
// already runs (an agent restart) takes it over instead of starting it
// again, with its ID and attempt.
func TestAdoptsRunningContainer(t *testing.T) {
	w, rt, _ := runWorker(t, appPod(corev1.RestartPolicyAlways))
	for i := range 3 { // attempts 0 and 1 ended, attempt 2 runs
		st := sandbox.ContainerStatus{ID: fmt.Sprintf("app-%d", i), Name: "app", Attempt: i, State: sandbox.StateExited, ExitCode: 1}
		if i == 2 {
			st.State, st.StartedAt = sandbox.StateRunning, time.Now()
		}
		rt.AddContainer(st)
	}
	if err := w.adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	round(w)
	round(w)
	if got := rt.Called("StartContainer"); len(got) != 0 {
		t.Fatalf("started %q beside the running attempt", got)
	}
	if got := rt.Called("RemoveContainer"); !slices.Equal(got, []string{"app-0"}) {
		t.Errorf("removed %q, want only app-0: a status shows the running attempt and the one before", got)
	}
	st := w.status().ContainerStatuses[0]
	if st.LastTerminationState.Terminated == nil || st.LastTerminationState.Terminated.ContainerID != "runc://app-1" {
		t.Errorf("last termination %+v, want attempt 1's", st.LastTerminationState)
	}
	if st.State.Running == nil || st.ContainerID != "runc://app-2" || st.RestartCount != 2 {
		t.Errorf("status running %v id %q restarts %d, want the adopted attempt: running, runc://app-2, 2", st.State.Running != nil, st.ContainerID, st.RestartCount)
	}
}

// TestPreStopThenGrace: stopping runs the preStop hook first, then stops
// the container with what is left of the grace period.
func TestPreStopThenGrace(t *testing.T) {
	pod := appPod(corev1.RestartPolicyAlways)
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"drain"}}}}
	w, rt, _ := runWorker(t, pod)
	round(w)
	<-w.killAllAsync(context.Background(), 5*time.Second)
	calls := rt.Calls()
	hook, stop := slices.Index(calls, "Exec drain"), slices.Index(calls, "StopContainer app")
	if hook < 0 || stop < 0 || hook > stop {
		t.Fatalf("calls %q: want the preStop hook (Exec drain) before StopContainer app", calls)
	}
	if g := rt.Grace("app"); g <= 4*time.Second || g > 5*time.Second {
		t.Errorf("StopContainer grace %v, want what is left of 5s after the hook", g)
	}
	w.refreshContainers(context.Background())
	w.publish()
	if st := w.status().ContainerStatuses[0]; st.State.Terminated == nil || st.State.Terminated.ExitCode != 143 {
		t.Errorf("state %+v, want terminated by SIGTERM (143)", st.State)
	}
}
