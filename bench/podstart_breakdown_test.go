package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// breakdownPods is how many pods the breakdown starts one after another,
// and then at once.
const breakdownPods = 100

// BenchmarkPodStartBreakdown says where a pod's start goes (issue 17), on
// `fargo up` with the image cached:
//   - per stage of one pod's start, over pods started one after another:
//     create (admission), scheduling and binding, the host's first status
//     (since issue 17 with the container running when the start is quick,
//     so the next stage is then empty), container start, readiness;
//   - per pod in a burst of breakdownPods: API writes by resource, watch
//     events sent, Events recorded, and CPU: the whole machine, `fargo up`
//     (with its kube-proxy child), and the rest (OCI runtime, shims and
//     kernel);
//   - where `fargo up`'s CPU went in the burst, by component, from a CPU
//     profile (FARGO_PPROF_ADDR; FARGO_BENCH_PPROF=FILE keeps it).
//
// The tables go to the benchmark's log; the headline numbers are metrics.
func BenchmarkPodStartBreakdown(b *testing.B) {
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	b.Setenv("FARGO_PPROF_ADDR", pprofAddr)
	srv, cs := podStartCluster(b)
	ctx := context.Background()
	for b.Loop() {
		stages := sequentialStages(ctx, b, cs, breakdownPods)
		deleteAll(ctx, b, cs)
		logStages(b, stages)

		before := snapshotCounters(ctx, b, cs, srv.Pid())
		profile := startCPUProfile(b, pprofAddr, 20*time.Second)
		elapsed := startBurst(ctx, b, cs)
		after := snapshotCounters(ctx, b, cs, srv.Pid())
		b.ReportMetric(elapsed.Seconds(), "burst-100-s")
		logBurstCosts(b, before, after, breakdownPods, elapsed)
		logProfileSplit(b, <-profile)
		deleteAll(ctx, b, cs)
	}
}

// stageNames are a pod's start stages in order, each ending when a watch
// first sees what its name says.
var stageNames = []string{
	"create returned (admission)",
	"bound to its pod-node (fargate-scheduler)",
	"first status posted, with the IP (host agent: sandbox and container started, when that is quick)",
	"container running (when posted apart)",
	"Ready (status posted)",
}

// sequentialStages starts n pods one after another and returns, for each
// stage, how long each pod spent in it.
func sequentialStages(ctx context.Context, b *testing.B, cs kubernetes.Interface, n int) [][]time.Duration {
	stages := make([][]time.Duration, len(stageNames))
	for i := range n {
		marks := stageMarks(ctx, b, cs, idlePod(fmt.Sprintf("stage-%d", i), "busybox"))
		for s := range stages {
			stages[s] = append(stages[s], marks[s+1].Sub(marks[s]))
		}
	}
	return stages
}

// stageMarks creates pod and returns the begin time then the moment each
// stage ended.
func stageMarks(ctx context.Context, b *testing.B, cs kubernetes.Interface, pod *corev1.Pod) []time.Time {
	w, err := cs.CoreV1().Pods(pod.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + pod.Name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	marks := []time.Time{time.Now()}
	if _, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	marks = append(marks, time.Now())
	reached := []func(*corev1.Pod) bool{
		func(p *corev1.Pod) bool { return p.Spec.NodeName != "" },
		func(p *corev1.Pod) bool { return p.Status.PodIP != "" },
		running,
		ready,
	}
	timeout := time.After(2 * time.Minute)
	for len(marks) < len(stageNames)+1 {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			// One event may end several stages: each gets its time.
			for len(marks) < len(stageNames)+1 && reached[len(marks)-2](p) {
				marks = append(marks, time.Now())
			}
		case <-timeout:
			b.Fatalf("pod %s did not reach %q in 2 minutes", pod.Name, stageNames[len(marks)-1])
		}
	}
	return marks
}

func running(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil {
			return true
		}
	}
	return false
}

func logStages(b *testing.B, stages [][]time.Duration) {
	var t strings.Builder
	fmt.Fprintf(&t, "one pod's start, %d pods one after another (client side, from watch events):\n", len(stages[0]))
	fmt.Fprintf(&t, "| stage ends when | p50 ms | p99 ms |\n|---|---|---|\n")
	total := make([]time.Duration, len(stages[0]))
	for s, d := range stages {
		fmt.Fprintf(&t, "| %s | %.1f | %.1f |\n", stageNames[s], ms(percentile(d, 50)), ms(percentile(d, 99)))
		for i := range d {
			total[i] += d[i]
		}
	}
	fmt.Fprintf(&t, "| create → Ready | %.1f | %.1f |\n", ms(percentile(total, 50)), ms(percentile(total, 99)))
	b.Log("\n" + t.String())
	b.ReportMetric(ms(percentile(total, 50)), "start-p50-ms")
	b.ReportMetric(ms(percentile(total, 99)), "start-p99-ms")
}

// sortedKeys are m's keys, largest value first.
func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// childPids are the pids whose parent is pid (kube-proxy under fargo up).
func childPids(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		st, err := readProcStat(s)
		if err == nil && st.ppid == pid {
			out = append(out, st.pid)
		}
	}
	return out
}
