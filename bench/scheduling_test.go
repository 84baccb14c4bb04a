package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// burstPods is the size of the scheduling burst.
const burstPods = 500

// BenchmarkSchedulingBurst creates 500 Fargate pods at once on `fargo up`
// (one host with room for all of them) and times each from its create call
// to the moment a watch sees it bound to its pod-node: scheduling
// throughput (pods bound per second over the burst) and bind latency. The
// sandbox start is not part of it.
func BenchmarkSchedulingBurst(b *testing.B) {
	harness.RequireRoot(b)
	srv := harness.NewServer(b, "up", b.TempDir(), "--cpu", "200", "--memory", "400Gi", "--name", "bench")
	srv.Start(b)
	defer srv.Stop(b)
	cs := srv.Client(b)
	ctx := context.Background()
	if out, err := srv.KubectlStdin(b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: burst\n---\napiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: burst\nspec:\n  selectors:\n  - namespace: burst\n", "apply", "-f", "-"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	testwait.Eventually(b, 30*time.Second, "profile ACTIVE", func(ctx context.Context) error {
		out, err := srv.Kubectl(b, "get", "fargateprofile", "burst", "-o", "jsonpath={.status.status}")
		if err != nil || out != "ACTIVE" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	round := 0
	for b.Loop() {
		created, bound, began, last := burst(ctx, b, cs, round)
		lastCreate := began
		for _, at := range created {
			if at.After(lastCreate) {
				lastCreate = at
			}
		}
		latencies := make([]time.Duration, 0, burstPods)
		for name, at := range bound {
			latencies = append(latencies, at.Sub(created[name]))
		}
		b.ReportMetric(float64(burstPods)/last.Sub(began).Seconds(), "pods/s")
		b.ReportMetric(ms(percentile(latencies, 50)), "bind-p50-ms")
		b.ReportMetric(ms(percentile(latencies, 99)), "bind-p99-ms")
		b.ReportMetric(last.Sub(began).Seconds(), "burst-s")
		// The creates themselves (admission included) bound how fast pods
		// can be bound: the last create call began this long after the first.
		b.ReportMetric(lastCreate.Sub(began).Seconds(), "creating-s")
		round++
		drain(b, cs)
	}
}

// drain deletes the burst and waits for its pod-nodes to be gone, so the
// next round starts from an empty host.
func drain(b *testing.B, cs kubernetes.Interface) {
	b.StopTimer()
	defer b.StartTimer()
	zero := int64(0)
	if err := cs.CoreV1().Pods("burst").DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	testwait.Eventually(b, 5*time.Minute, "pod-nodes gone", func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "fargo.dev/host"})
		if err != nil || len(nodes.Items) > 0 {
			return fmt.Errorf("%d pod-nodes left (%v)", len(nodes.Items), err)
		}
		return nil
	})
}

// burst creates the pods from 16 goroutines and returns when a watch has
// seen every one bound: create times, bind times, the first create and the
// last bind.
func burst(ctx context.Context, b *testing.B, cs kubernetes.Interface, round int) (created, bound map[string]time.Time, began, last time.Time) {
	w, err := cs.CoreV1().Pods("burst").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	created, bound = map[string]time.Time{}, map[string]time.Time{}
	var mu sync.Mutex
	names := make(chan string)
	var wg sync.WaitGroup
	began = time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				at := time.Now()
				if _, err := cs.CoreV1().Pods("burst").Create(ctx, burstPod(name), metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
				mu.Lock()
				created[name] = at
				mu.Unlock()
			}
		}()
	}
	go func() {
		for i := range burstPods {
			names <- fmt.Sprintf("r%d-p%d", round, i)
		}
		close(names)
	}()
	timeout := time.After(5 * time.Minute)
	for len(bound) < burstPods {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if ok && ev.Type != watch.Deleted && p.Spec.NodeName != "" && bound[p.Name].IsZero() {
				bound[p.Name] = time.Now()
				last = bound[p.Name]
			}
		case <-timeout:
			b.Fatalf("%d of %d pods bound after 5 minutes", len(bound), burstPods)
		}
	}
	wg.Wait()
	return created, bound, began, last
}

func burstPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "burst"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
		}}},
	}
}
