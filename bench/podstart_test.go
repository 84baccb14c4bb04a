package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// TestMain removes the seed image tarball the benchmarks share.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveSeedTarball()
	os.Exit(code)
}

// podStartPods is how many pods each pod-start measure starts.
const podStartPods = 100

// BenchmarkPodStart measures issue 5's pod start on `fargo up` with the
// image in the host's cache: create-to-Ready latency over 100 sequential
// pods, a burst of 100 pods to all Ready, and the host memory each idle
// running pod costs (agent growth, shim and pause; not the workload).
func BenchmarkPodStart(b *testing.B) {
	srv, cs := podStartCluster(b)
	ctx := context.Background()
	for b.Loop() {
		var latencies []time.Duration
		baseRSS := rssKiB(srv.Pid())
		for i := range podStartPods {
			latencies = append(latencies, startOne(ctx, b, cs, fmt.Sprintf("seq-%d", i), "busybox"))
		}
		b.ReportMetric(ms(percentile(latencies, 50)), "start-p50-ms")
		b.ReportMetric(ms(percentile(latencies, 99)), "start-p99-ms")
		agentKiB := float64(rssKiB(srv.Pid())-baseRSS) / podStartPods
		shimPSS, shimRSS, shims := sandboxMemoryKiB()
		b.ReportMetric((agentKiB+float64(shimPSS)/podStartPods)/1024, "per-pod-MiB")
		b.ReportMetric(float64(shimRSS)/float64(max(shims, 1))/1024, "shim-rss-MiB")
		b.ReportMetric(agentKiB/1024, "agent-per-pod-MiB")
		deleteAll(ctx, b, cs)

		b.ReportMetric(startBurst(ctx, b, cs).Seconds(), "burst-100-s")
		deleteAll(ctx, b, cs)
	}
}

// BenchmarkColdPull compares a pod whose image the host never pulled
// (an image made for the round: busybox plus a layer of 32 MiB of random
// bytes, pulled from the local registry and unpacked) with a second pod of
// the same image, now cached.
func BenchmarkColdPull(b *testing.B) {
	srv, cs := podStartCluster(b)
	ctx := context.Background()
	round := 0
	for b.Loop() {
		ref := fmt.Sprintf("cold/busybox:r%d-%d", round, time.Now().UnixNano())
		tar := filepath.Join(b.TempDir(), "cold.tar")
		if err := harness.WriteImageTarballWithData(tar, 32<<20, ref); err != nil {
			b.Fatal(err)
		}
		srv.ImportImages(b, tar)
		b.ReportMetric(ms(startOne(ctx, b, cs, fmt.Sprintf("cold-%d", round), ref)), "cold-ms")
		b.ReportMetric(ms(startOne(ctx, b, cs, fmt.Sprintf("warm-%d", round), ref)), "cached-ms")
		deleteAll(ctx, b, cs)
		round++
	}
}

// podStartCluster starts `fargo up` with room for 100 smallest pods and
// the seed images imported, and a Fargate profile for namespace start.
// FARGO_BENCH_TIER picks the host's sandbox tier (default oci/runc).
func podStartCluster(b *testing.B, extra ...string) (*harness.Server, kubernetes.Interface) {
	harness.RequireRoot(b)
	args := []string{"--cpu", "200", "--memory", "400Gi", "--name", "bench"}
	args = append(args, extra...) // later flags win
	if tier := os.Getenv("FARGO_BENCH_TIER"); tier != "" {
		args = append(args, "--tier", tier) // e.g. oci/crun, to compare tiers
	}
	srv := harness.NewServer(b, "up", b.TempDir(), args...)
	srv.Start(b)
	b.Cleanup(func() {
		// A benchmark that stopped its cluster has deleted its pods first.
		if srv.Running() {
			deleteAll(context.Background(), b, srv.Client(b))
		}
	})
	srv.ImportImages(b, harness.SeedTarball(b))
	if out, err := srv.KubectlStdin(b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: start\n---\napiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: start\nspec:\n  selectors:\n  - namespace: start\n", "apply", "-f", "-"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	testwait.Eventually(b, 30*time.Second, "profile ACTIVE", func(ctx context.Context) error {
		out, err := srv.Kubectl(b, "get", "fargateprofile", "start", "-o", "jsonpath={.status.status}")
		if err != nil || out != "ACTIVE" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	return srv, srv.Client(b)
}

func idlePod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "start"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers:                    []corev1.Container{{Name: "c", Image: image, Command: []string{"sleep", "3600"}}},
		},
	}
}

// startOne creates one pod and returns how long until a watch sees it Ready.
func startOne(ctx context.Context, b *testing.B, cs kubernetes.Interface, name, image string) time.Duration {
	return startPod(ctx, b, cs, idlePod(name, image))
}

// startPod creates pod (in its namespace) and returns how long until a
// watch sees it Ready.
func startPod(ctx context.Context, b *testing.B, cs kubernetes.Interface, pod *corev1.Pod) time.Duration {
	name := pod.Name
	w, err := cs.CoreV1().Pods(pod.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	began := time.Now()
	if _, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted && ready(p) {
				return time.Since(began)
			}
		case <-timeout:
			b.Fatalf("pod %s not Ready after 2 minutes", name)
		}
	}
}

// startBurst creates 100 busybox pods from 16 goroutines and returns the
// time from the first create until a watch has seen all of them Ready.
func startBurst(ctx context.Context, b *testing.B, cs kubernetes.Interface) time.Duration {
	return burstOf(ctx, b, cs, podStartPods, func(name string) *corev1.Pod { return idlePod(name, "busybox") })
}

// burstOf creates n pods made by pod in namespace start from 16
// goroutines and returns the time from the first create until a watch has
// seen all of them Ready.
func burstOf(ctx context.Context, b *testing.B, cs kubernetes.Interface, n int, pod func(name string) *corev1.Pod) time.Duration {
	return burstIn(ctx, b, cs, "start", n, pod)
}

// burstIn is burstOf in namespace ns, where pod must put its pods.
func burstIn(ctx context.Context, b *testing.B, cs kubernetes.Interface, ns string, n int, pod func(name string) *corev1.Pod) time.Duration {
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	names := make(chan string)
	var wg sync.WaitGroup
	began := time.Now()
	for range 16 {
		wg.Go(func() {
			for name := range names {
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod(name), metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	go func() {
		for i := range n {
			names <- fmt.Sprintf("burst-%d", i)
		}
		close(names)
	}()
	seen := map[string]bool{}
	timeout := time.After(5 * time.Minute)
	for len(seen) < n {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted && ready(p) {
				seen[p.Name] = true
			}
		case <-timeout:
			b.Fatalf("%d of %d pods Ready after 5 minutes", len(seen), n)
		}
	}
	elapsed := time.Since(began)
	wg.Wait()
	return elapsed
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deleteAll deletes namespace start's pods and waits for them to be gone.
func deleteAll(ctx context.Context, b *testing.B, cs kubernetes.Interface) {
	deleteAllIn(ctx, b, cs, "start")
}

// deleteAllIn deletes namespace ns's pods and waits for them to be gone
// and for the host to be idle again (waitQuiet).
func deleteAllIn(ctx context.Context, b *testing.B, cs kubernetes.Interface, ns string) {
	b.StopTimer()
	defer b.StartTimer()
	if err := cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](1)}, metav1.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	testwait.Eventually(b, 5*time.Minute, "pods gone", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left (%v)", len(pods.Items), err)
		}
		return nil
	})
	waitQuiet(b)
}

// rssKiB is a process's resident memory.
func rssKiB(pid int) int64 { return statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:") }

// sandboxMemoryKiB sums the proportional (Pss) and resident memory of
// every fargo-shim process (container shims and pod pause holders).
func sandboxMemoryKiB() (pss, rss int64, n int) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		comm, _ := os.ReadFile(p + "/comm")
		if strings.TrimSpace(string(comm)) != "fargo-shim" {
			continue
		}
		pss += statusField(p+"/smaps_rollup", "Pss:")
		rss += statusField(p+"/status", "VmRSS:")
		n++
	}
	return pss, rss, n
}

// statusField reads "Key:   123 kB" from a /proc file.
func statusField(path, key string) int64 {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
