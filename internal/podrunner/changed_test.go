package podrunner

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// appPod runs "app" on image "one" under policy.
func appPod(policy corev1.RestartPolicy) *corev1.Pod {
	pod := onePod(corev1.Container{Name: "app", Image: "one"})
	pod.Spec.RestartPolicy = policy
	return pod
}

// withImage is the pod as an update changing app's image leaves it.
func withImage(pod *corev1.Pod, image string) *corev1.Pod {
	pod = pod.DeepCopy()
	pod.Spec.Containers[0].Image = image
	return pod
}

func TestImageUpdateRestartsRunningContainer(t *testing.T) {
	// Never: the definition changed, so it restarts all the same.
	pod := appPod(corev1.RestartPolicyNever)
	w, rt, events := runWorker(t, pod)
	round(w)
	w.update(withImage(pod, "two"))
	round(w)
	if got, want := lifecycle(rt), []string{"start app", "stop app", "start app"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("runtime saw %q, want %q", got, want)
	}
	if !slices.ContainsFunc(drain(events), func(e string) bool {
		return strings.Contains(e, "Killing Container app definition changed, will be restarted")
	}) {
		t.Error("no Killing event saying the definition changed")
	}
	st := w.status().ContainerStatuses[0]
	if st.Image != "two" || st.RestartCount != 1 || st.State.Running == nil {
		t.Errorf("status image %q restarts %d running %v, want two, 1, running", st.Image, st.RestartCount, st.State.Running != nil)
	}
}

func TestImageUpdateResetsBackOff(t *testing.T) {
	pod := appPod(corev1.RestartPolicyAlways)
	w, rt, _ := runWorker(t, pod)
	round(w)
	exit(t, rt, "app", 1)
	round(w) // the first restart does not wait
	exit(t, rt, "app", 1)
	round(w)
	if got := w.status().ContainerStatuses[0].State.Waiting; got == nil || got.Reason != "CrashLoopBackOff" {
		t.Fatalf("waiting %+v, want CrashLoopBackOff after the second failure", got)
	}
	w.update(withImage(pod, "two"))
	round(w)
	st := w.status().ContainerStatuses[0]
	if st.State.Running == nil || st.Image != "two" {
		t.Fatalf("after the image update: state %+v image %q, want running two at once", st.State, st.Image)
	}
	if n := len(rt.Called("StartContainer")); n != 3 {
		t.Errorf("%d starts, want 3", n)
	}
}
