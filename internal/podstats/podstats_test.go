package podstats

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/metrics-server/pkg/scraper/client"
	"sigs.k8s.io/metrics-server/pkg/scraper/client/resource"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

var (
	readAt    = time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	sandboxAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	appAt     = time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
)

// testReading is a pod-node running a pod with two containers, one of
// them busy.
func testReading() Reading {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "0b7c-uid"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "nginx:latest"}, {Name: "sidecar", Image: "busybox"},
		}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Image: "docker.io/library/nginx:latest"},
		}},
	}
	return Reading{
		NodeName: "fargate-ip-10-42-0-2.us-east-1.compute.internal",
		Pod:      pod,
		Usage: sandbox.PodUsage{
			StartedAt: sandboxAt,
			Usage:     usage(3_500_000_000, 30<<20),
			Containers: []sandbox.ContainerUsage{
				{Name: "app", ID: "0b7c-app-0", StartedAt: appAt, Usage: usage(3_000_000_000, 20<<20)},
				{Name: "sidecar", ID: "0b7c-sidecar-0", StartedAt: appAt, Usage: usage(400_000_000, 8<<20)},
			},
		},
	}
}

func usage(cpu, workingSet uint64) sandbox.Usage {
	return sandbox.Usage{
		CPUUsageNanoseconds: cpu, MemoryWorkingSetBytes: workingSet,
		MemoryUsageBytes: workingSet + 4096, MemoryRSSBytes: workingSet / 2, At: readAt,
	}
}

func TestSummary(t *testing.T) {
	r := testReading()
	// Ten seconds earlier the sandbox had used 2.5 s of CPU less (a
	// quarter core), and the containers what they use now.
	prev := testReading().Usage
	prev.Usage.At = readAt.Add(-10 * time.Second)
	prev.Usage.CPUUsageNanoseconds -= 2_500_000_000
	for i := range prev.Containers {
		prev.Containers[i].At = prev.Usage.At
	}
	r.Previous = &prev
	s := Summary(r)

	if s.Node.NodeName != r.NodeName || !s.Node.StartTime.Time.Equal(sandboxAt) {
		t.Errorf("node %q started %v, want %q started %v", s.Node.NodeName, s.Node.StartTime, r.NodeName, sandboxAt)
	}
	if got := *s.Node.CPU.UsageCoreNanoSeconds; got != 3_500_000_000 {
		t.Errorf("node CPU = %d ns, want the sandbox's 3.5e9", got)
	}
	if got := *s.Node.Memory.WorkingSetBytes; got != 30<<20 {
		t.Errorf("node working set = %d, want the sandbox's %d", got, 30<<20)
	}
	if s.Node.CPU.UsageNanoCores == nil || *s.Node.CPU.UsageNanoCores != 250_000_000 {
		t.Errorf("node usageNanoCores = %v, want 2.5e8 (a quarter core)", s.Node.CPU.UsageNanoCores)
	}
	if len(s.Pods) != 1 {
		t.Fatalf("%d pods, want 1", len(s.Pods))
	}
	p := s.Pods[0]
	if p.PodRef.Name != "web-1" || p.PodRef.Namespace != "shop" || p.PodRef.UID != "0b7c-uid" {
		t.Errorf("podRef = %+v", p.PodRef)
	}
	if len(p.Containers) != 2 || p.Containers[0].Name != "app" || *p.Containers[0].CPU.UsageCoreNanoSeconds != 3_000_000_000 ||
		*p.Containers[1].Memory.WorkingSetBytes != 8<<20 || *p.Containers[0].Memory.RSSBytes != 10<<20 ||
		!p.Containers[0].StartTime.Time.Equal(appAt) {
		t.Errorf("containers = %+v", p.Containers)
	}
	// The containers of the earlier reading had the same counters: zero rate.
	if c := p.Containers[0].CPU.UsageNanoCores; c == nil || *c != 0 {
		t.Errorf("app usageNanoCores = %v, want 0", c)
	}
}

// serve runs h and returns the response body and content type.
func serve(t *testing.T, h http.Handler) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/resource", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String(), rec.Header().Get("Content-Type")
}

func TestResourceMetricsText(t *testing.T) {
	body, ctype := serve(t, ResourceMetrics(testReading()))
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("content type %q, want Prometheus text", ctype)
	}
	ms := strconv.FormatInt(readAt.UnixMilli(), 10)
	for _, want := range []string{
		"# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds",
		"# TYPE node_cpu_usage_seconds_total counter",
		"node_cpu_usage_seconds_total 3.5 " + ms,
		"node_memory_working_set_bytes 3.145728e+07 " + ms,
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 3 ` + ms,
		`container_memory_working_set_bytes{container="sidecar",namespace="shop",pod="web-1"} 8.388608e+06 ` + ms,
		`container_start_time_seconds{container="app",namespace="shop",pod="web-1"} 1.772366401e+09`,
		`pod_cpu_usage_seconds_total{namespace="shop",pod="web-1"} 3.5 ` + ms,
		`pod_memory_working_set_bytes{namespace="shop",pod="web-1"} 3.145728e+07 ` + ms,
		"resource_scrape_error 0",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics/resource lacks %q; it is:\n%s", want, body)
		}
	}

	failed := testReading()
	failed.Err = errors.New("cgroup gone")
	body, _ = serve(t, ResourceMetrics(failed))
	if !strings.Contains(body, "resource_scrape_error 1\n") || strings.Contains(body, "node_cpu_usage_seconds_total ") {
		t.Errorf("after a failed reading, want resource_scrape_error 1 and no usage; got:\n%s", body)
	}
}

// TestMetricsServerParses scrapes the endpoint with metrics-server's own
// kubelet client, as `kubectl top` gets its numbers.
func TestMetricsServerParses(t *testing.T) {
	r := testReading()
	srv := httptest.NewTLSServer(ResourceMetrics(r))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	kc, err := resource.NewForConfig(&client.KubeletClientConfig{
		Client:              rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}, Timeout: 5 * time.Second},
		AddressTypePriority: []corev1.NodeAddressType{corev1.NodeInternalIP},
		Scheme:              "https", DefaultPort: port,
	})
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: r.NodeName},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: u.Hostname()}}},
	}
	batch, err := kc.GetMetrics(context.Background(), node)
	if err != nil {
		t.Fatalf("metrics-server's scrape: %v", err)
	}
	n, ok := batch.Nodes[r.NodeName]
	if !ok || n.CumulativeCPUUsed != 3_500_000_000 || n.MemoryUsage != 30<<20 || !n.Timestamp.Equal(readAt) {
		t.Errorf("node point = %+v (found %v), want 3.5e9 ns CPU, %d bytes at %v", n, ok, 30<<20, readAt)
	}
	p, ok := batch.Pods[types.NamespacedName{Namespace: "shop", Name: "web-1"}]
	if !ok || len(p.Containers) != 2 {
		t.Fatalf("pods = %+v, want shop/web-1 with 2 containers", batch.Pods)
	}
	app := p.Containers["app"]
	if app.CumulativeCPUUsed != 3_000_000_000 || app.MemoryUsage != 20<<20 || !app.StartTime.Equal(appAt) {
		t.Errorf("app point = %+v", app)
	}
}

func TestCadvisorMetrics(t *testing.T) {
	body, _ := serve(t, CadvisorMetrics(testReading()))
	ms := strconv.FormatInt(readAt.UnixMilli(), 10)
	for _, want := range []string{
		"# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.",
		`container_cpu_usage_seconds_total{container="app",cpu="total",id="/kubepods/pod0b7c-uid/0b7c-app-0",image="docker.io/library/nginx:latest",name="0b7c-app-0",namespace="shop",pod="web-1"} 3 ` + ms,
		`container_memory_working_set_bytes{container="sidecar",id="/kubepods/pod0b7c-uid/0b7c-sidecar-0",image="busybox",name="0b7c-sidecar-0",namespace="shop",pod="web-1"} 8.388608e+06 ` + ms,
		`container_memory_working_set_bytes{container="",id="/kubepods/pod0b7c-uid",image="",name="",namespace="shop",pod="web-1"} 3.145728e+07 ` + ms,
		`container_memory_rss{container="",id="/",image="",name="",namespace="",pod=""} 1.572864e+07 ` + ms,
		`container_start_time_seconds{container="app",id="/kubepods/pod0b7c-uid/0b7c-app-0",image="docker.io/library/nginx:latest",name="0b7c-app-0",namespace="shop",pod="web-1"} 1.772366401e+09`,
		"container_scrape_error 0",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics/cadvisor lacks %q; it is:\n%s", want, body)
		}
	}
	// Families the reading has no data for are left out, not zero.
	if strings.Contains(body, "container_memory_cache") || strings.Contains(body, "container_cpu_user_seconds_total") {
		t.Errorf("/metrics/cadvisor has families without data:\n%s", body)
	}
}

// TestResourceMetricsOverHTTP checks the handler negotiates like the
// kubelet's: a Prometheus server asking for protobuf gets protobuf.
func TestResourceMetricsOverHTTP(t *testing.T) {
	srv := httptest.NewServer(ResourceMetrics(testReading()))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.google.protobuf") {
		t.Errorf("content type %q, want protobuf", ct)
	}
}

func TestKubeletMetrics(t *testing.T) {
	r := testReading()
	r.Pod.Status.Phase = corev1.PodRunning
	r.Pod.Status.ContainerStatuses[0].State.Running = &corev1.ContainerStateRunning{}
	r.Pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
	body, _ := serve(t, KubeletMetrics(r.NodeName, r.Pod))
	for _, want := range []string{
		`kubelet_node_name{node="fargate-ip-10-42-0-2.us-east-1.compute.internal"} 1`,
		"kubelet_running_pods 1",
		`kubelet_running_containers{container_state="running"} 1`,
		`kubelet_running_containers{container_state="exited"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q; it is:\n%s", want, body)
		}
	}
	r.Pod.Status.Phase = corev1.PodSucceeded
	if body, _ := serve(t, KubeletMetrics(r.NodeName, r.Pod)); !strings.Contains(body, "kubelet_running_pods 0\n") {
		t.Errorf("a finished pod's sandbox still counts:\n%s", body)
	}
}
