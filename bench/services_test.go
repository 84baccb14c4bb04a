package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// svcbenchPods are a server pod behind the Service svcbench and a client
// pod, both running testdata/svcbench.
const svcbenchPods = `apiVersion: v1
kind: Pod
metadata: {name: server, namespace: start, labels: {app: svcbench}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "svcbench:latest", command: [svcbench, serve, ":80"]}
---
apiVersion: v1
kind: Service
metadata: {name: svcbench, namespace: start}
spec:
  selector: {app: svcbench}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: start}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "svcbench:latest", command: [sleep, "3600"]}
`

// serviceRounds is how often each path is measured, alternating, so that
// neither profits from a quieter moment; medians are reported.
const serviceRounds = 3

// BenchmarkServicePath measures, from a pod, HTTP round trips on a new
// connection each (500 per round) and a 64 MB download to another pod,
// once at its pod IP and once through its ClusterIP (kube-proxy's DNAT),
// in one run; the goal is a Service path under 10% over direct. It also
// reports cluster DNS lookups a second from the pod (2,000 lookups of the
// Service's short name, which the search list expands, 4 at a time).
func BenchmarkServicePath(b *testing.B) {
	srv, cs := kubeletCluster(b)
	ctx := context.Background()
	tarball := filepath.Join(b.TempDir(), "svcbench.tar")
	harness.WriteGoImageTarball(b, tarball, "svcbench:latest", "testdata/svcbench")
	srv.ImportImages(b, tarball)
	if out, err := srv.KubectlStdin(b, svcbenchPods, "apply", "-f", "-"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	var podIP, clusterIP string
	testwait.Eventually(b, 2*time.Minute, "server and client ready", func(ctx context.Context) error {
		server, err := cs.CoreV1().Pods("start").Get(ctx, "server", metav1.GetOptions{})
		if err != nil || !ready(server) {
			return fmt.Errorf("server not ready: %v", err)
		}
		client, err := cs.CoreV1().Pods("start").Get(ctx, "client", metav1.GetOptions{})
		if err != nil || !ready(client) {
			return fmt.Errorf("client not ready: %v", err)
		}
		svc, err := cs.CoreV1().Services("start").Get(ctx, "svcbench", metav1.GetOptions{})
		if err != nil {
			return err
		}
		podIP, clusterIP = server.Status.PodIP, svc.Spec.ClusterIP
		// Ready endpoints reach kube-proxy within its 1 s minimum sync.
		_, err = inClient(b, srv, "latency", "-n", "1", "http://"+clusterIP)
		return err
	})
	paths := []struct{ name, url string }{{"direct", "http://" + podIP}, {"service", "http://" + clusterIP}}
	for b.Loop() {
		p50, mbps := map[string][]float64{}, map[string][]float64{}
		for range serviceRounds {
			for _, p := range paths {
				out := mustClient(b, srv, "latency", "-n", "500", p.url)
				p50[p.name] = append(p50[p.name], field(b, out, 0))
				mbps[p.name] = append(mbps[p.name], field(b, mustClient(b, srv, "throughput", p.url), 0))
			}
		}
		for _, p := range paths {
			b.ReportMetric(median(p50[p.name]), p.name+"-p50-us")
			b.ReportMetric(median(mbps[p.name]), p.name+"-MBps")
		}
		b.ReportMetric(100*(median(p50["service"])/median(p50["direct"])-1), "service-latency-overhead-%")
		b.ReportMetric(100*(1-median(mbps["service"])/median(mbps["direct"])), "service-throughput-loss-%")
		b.ReportMetric(field(b, mustClient(b, srv, "dns", "-n", "2000", "-c", "4", "svcbench"), 0), "dns-lookups/s")
	}
	b.StopTimer()
	deleteAll(ctx, b, cs)
	srv.Stop(b)
}

func inClient(b *testing.B, srv *harness.Server, args ...string) (string, error) {
	return srv.Kubectl(b, append([]string{"-n", "start", "exec", "client", "--", "svcbench"}, args...)...)
}

func mustClient(b *testing.B, srv *harness.Server, args ...string) string {
	out, err := inClient(b, srv, args...)
	if err != nil {
		b.Fatalf("svcbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func field(b *testing.B, out string, i int) float64 {
	f := strings.Fields(out)
	if len(f) <= i {
		b.Fatalf("svcbench printed %q", out)
	}
	v, err := strconv.ParseFloat(f[i], 64)
	if err != nil {
		b.Fatalf("svcbench printed %q: %v", out, err)
	}
	return v
}
