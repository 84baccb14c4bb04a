package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// createsPerCase is how many pods each admission case creates.
const createsPerCase = 1000

// BenchmarkAdmission times pod CREATE as the client sees it, 1000 sequential
// creates per case: pods a Fargate profile matches (the webhook mutates
// them), pods it does not match (the webhook is called and answers with no
// patch), and pods with fargo's webhook unregistered (the apiserver alone).
// The difference between a case and the baseline is what admission adds.
func BenchmarkAdmission(b *testing.B) {
	harness.RequireRoot(b)
	srv := harness.NewServer(b, "server", b.TempDir())
	srv.Start(b)
	defer srv.Stop(b)
	cs := srv.Client(b)
	ctx := context.Background()
	apply := func(manifest string) {
		if out, err := srv.KubectlStdin(b, manifest, "apply", "-f", "-"); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	apply("apiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: bench\nspec:\n  selectors:\n  - namespace: bench-fargate\n")
	for _, ns := range []string{"bench-fargate", "bench-other", "bench-baseline"} {
		apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n")
	}
	testwait.Eventually(b, 30*time.Second, "profile ACTIVE", func(ctx context.Context) error {
		out, err := srv.Kubectl(b, "get", "fargateprofile", "bench", "-o", "jsonpath={.status.status}")
		if err != nil || out != "ACTIVE" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	for b.Loop() {
		matching := createPods(ctx, b, cs, "bench-fargate", true)
		other := createPods(ctx, b, cs, "bench-other", false)
		if out, err := srv.Kubectl(b, "delete", "mutatingwebhookconfiguration", "fargo-pod-admission"); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		baseline := createPods(ctx, b, cs, "bench-baseline", false)
		for _, c := range []struct {
			name string
			d    []time.Duration
		}{{"matching", matching}, {"nonmatching", other}, {"baseline", baseline}} {
			b.ReportMetric(ms(percentile(c.d, 50)), c.name+"-p50-ms")
			b.ReportMetric(ms(percentile(c.d, 99)), c.name+"-p99-ms")
		}
		b.ReportMetric(ms(percentile(matching, 99)-percentile(baseline, 99)), "matching-added-p99-ms")
		b.ReportMetric(ms(percentile(other, 99)-percentile(baseline, 99)), "nonmatching-added-p99-ms")
	}
}

func createPods(ctx context.Context, b *testing.B, cs kubernetes.Interface, ns string, wantFargate bool) []time.Duration {
	durations := make([]time.Duration, 0, createsPerCase)
	for i := range createsPerCase {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", i), Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		began := time.Now()
		created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		durations = append(durations, time.Since(began))
		if err != nil {
			b.Fatal(err)
		}
		if got := created.Spec.SchedulerName == "fargate-scheduler"; got != wantFargate {
			b.Fatalf("pod %s/%s placed on Fargate = %v, want %v", ns, pod.Name, got, wantFargate)
		}
	}
	return durations
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
