package podrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// statusWorker is a worker whose status can be worked out without an
// agent's clients: a pod, its containers' attempts, and a log dir.
func statusWorker(t *testing.T, pod *corev1.Pod) *podWorker {
	t.Helper()
	a := &Agent{cfg: Config{RuntimeName: "runc", LogDir: t.TempDir(), Now: time.Now}}
	return &podWorker{a: a, pod: pod, ip: mustAddr("10.42.0.7"), ctrs: map[string]*container{}, logMessages: map[string]string{}}
}

// writeCRILog writes lines to the attempt's CRI log as the shim would.
func writeCRILog(t *testing.T, w *podWorker, name string, attempt int, lines []string) {
	t.Helper()
	path := logPath(w.a.cfg.LogDir, w.pod, name, attempt)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "2026-12-03T06:00:00.000000000Z stdout F %s\n", l)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func onePod(c corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{c}},
	}
}

func exitedWith(code int, message string) *sandbox.ContainerStatus {
	reason := "Error"
	if code == 0 {
		reason = "Completed"
	}
	return &sandbox.ContainerStatus{ID: "c-0", Name: "c", State: sandbox.StateExited, ExitCode: code, Reason: reason, TerminationMessage: message}
}

func TestTerminationMessage(t *testing.T) {
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 40)))
	}
	tests := []struct {
		name     string
		policy   corev1.TerminationMessagePolicy
		attempt  *sandbox.ContainerStatus
		log      []string
		want     string
		wantTail bool // want is the message's end, not all of it
	}{
		{"the file's message", corev1.TerminationMessageReadFile, exitedWith(0, "DONE"), nil, "DONE", false},
		{"ReadFile ignores the log", corev1.TerminationMessageReadFile, exitedWith(1, ""), []string{"oops"}, "", false},
		{"fallback on a failure", corev1.TerminationMessageFallbackToLogsOnError, exitedWith(1, ""), []string{"first", "last"}, "first\nlast\n", false},
		{"no fallback on success", corev1.TerminationMessageFallbackToLogsOnError, exitedWith(0, ""), []string{"DONE"}, "", false},
		{"the file wins over the log", corev1.TerminationMessageFallbackToLogsOnError, exitedWith(1, "OK"), []string{"log"}, "OK", false},
		{"the last 2 KiB of the last 80 lines", corev1.TerminationMessageFallbackToLogsOnError, exitedWith(2, ""), many, many[99] + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := statusWorker(t, onePod(corev1.Container{Name: "c", TerminationMessagePolicy: tt.policy}))
			writeCRILog(t, w, "c", 0, tt.log)
			w.ctrs["c"] = &container{spec: &w.pod.Spec.Containers[0], cur: tt.attempt}
			w.initDone = true
			got := w.status().ContainerStatuses[0].State.Terminated.Message
			if !tt.wantTail && got != tt.want {
				t.Fatalf("message %q, want %q", got, tt.want)
			}
			if tt.wantTail && (len(got) != maxLogMessageBytes || !strings.HasSuffix(got, tt.want) || strings.Contains(got, many[19])) {
				t.Fatalf("message of %d bytes ending %q: want the last %d bytes of the last 80 lines", len(got), got[max(0, len(got)-60):], maxLogMessageBytes)
			}
		})
	}
}

func TestTerminationMessagesShareTwelveKiB(t *testing.T) {
	pod := onePod(corev1.Container{Name: "c"})
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "d"}, corev1.Container{Name: "e"})
	w := statusWorker(t, pod)
	w.initDone = true
	for i, name := range []string{"c", "d", "e"} {
		st := exitedWith(1, strings.Repeat("m", 4<<10))
		st.ID, st.Name = name+"-0", name
		if i == 0 {
			st.TerminationMessage = "short"
		}
		w.ctrs[name] = &container{spec: &pod.Spec.Containers[i], cur: st}
	}
	st := w.status()
	want := []int{len("short"), 12 << 10 / 3, 12 << 10 / 3}
	for i, cs := range st.ContainerStatuses {
		if got := len(cs.State.Terminated.Message); got != want[i] {
			t.Errorf("container %s: message of %d bytes, want %d", cs.Name, got, want[i])
		}
	}
}

func TestCompletedInitContainerIsReady(t *testing.T) {
	pod := onePod(corev1.Container{Name: "c"})
	pod.Spec.InitContainers = []corev1.Container{{Name: "init-ok"}, {Name: "init-failed"}}
	w := statusWorker(t, pod)
	ok, failed := exitedWith(0, ""), exitedWith(1, "")
	ok.ID, failed.ID = "init-ok-0", "init-failed-0"
	w.ctrs["init-ok"] = &container{spec: &pod.Spec.InitContainers[0], init: true, cur: ok}
	w.ctrs["init-failed"] = &container{spec: &pod.Spec.InitContainers[1], init: true, cur: failed}
	st := w.status()
	if !st.InitContainerStatuses[0].Ready {
		t.Errorf("a completed init container is not ready: %+v", st.InitContainerStatuses[0])
	}
	if st.InitContainerStatuses[1].Ready {
		t.Errorf("a failed init container is ready: %+v", st.InitContainerStatuses[1])
	}
}

func TestPastDeadline(t *testing.T) {
	start := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		deadline *int64
		started  bool
		at       time.Duration
		want     bool
	}{
		{"no deadline", nil, true, time.Hour, false},
		{"not started", ptr.To[int64](5), false, time.Hour, false},
		{"before", ptr.To[int64](5), true, 4 * time.Second, false},
		{"at", ptr.To[int64](5), true, 5 * time.Second, true},
		{"after", ptr.To[int64](5), true, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := onePod(corev1.Container{Name: "c"})
			pod.Spec.ActiveDeadlineSeconds = tt.deadline
			if tt.started {
				pod.Status.StartTime = &metav1.Time{Time: start}
			}
			if got := pastDeadline(pod, start.Add(tt.at)); got != tt.want {
				t.Errorf("pastDeadline %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeadlineExceededStatus(t *testing.T) {
	w := statusWorker(t, onePod(corev1.Container{Name: "c"}))
	w.initDone, w.deadlineExceeded = true, true
	w.ctrs["c"] = &container{spec: &w.pod.Spec.Containers[0], cur: &sandbox.ContainerStatus{ID: "c-0", State: sandbox.StateRunning}}
	st := w.status()
	if st.Phase != corev1.PodFailed || st.Reason != "DeadlineExceeded" || st.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("status phase %s, reason %q, message %q: want Failed, DeadlineExceeded and kubelet's message", st.Phase, st.Reason, st.Message)
	}
}
