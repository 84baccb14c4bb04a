package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/containerlog"
	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

const (
	// execRuns is how many sequential exec round trips each way of
	// calling exec makes.
	execRuns = 50
	// logBytes is the size of the log BenchmarkLogsThroughput reads:
	// 500,000 lines of 100 bytes.
	logBytes = 50_000_000
	// bodyBytes is the size of the file BenchmarkPortForwardThroughput
	// reads through each path.
	bodyBytes = 64_000_000
	// throughputReads is how many times each throughput is measured; the
	// median is reported.
	throughputReads = 3
)

// BenchmarkExecRoundTrip times `kubectl exec POD -- true` (issue 10's goal:
// p50 ≤ 60 ms), 50 sequential runs, and in the same run the same exec
// without a kubectl process: client-go's remotecommand SPDY and WebSocket
// executors in this process through the apiserver, the SPDY executor
// straight to the pod-node's kubelet endpoint (no apiserver), and the OCI
// runtime's own `exec` of the container (no kubelet API). The p50 of
// `kubectl version --client` is kubectl's own process start.
func BenchmarkExecRoundTrip(b *testing.B) {
	srv, cs := kubeletCluster(b)
	ctx := context.Background()
	startOne(ctx, b, cs, "exec", "busybox")
	pod, err := cs.CoreV1().Pods("start").Get(ctx, "exec", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := srv.RESTConfig(b)
	viaAPI := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace("start").Name("exec").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "c", Command: []string{"true"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	kubeletCfg := kubeletConfig(b, cs, cfg, pod)
	direct, _ := url.Parse(kubeletCfg.Host + "/exec/start/exec/c?command=true&output=1&error=1")

	kubectl := func() error {
		out, err := srv.Kubectl(b, "-n", "start", "exec", "exec", "--", "true")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	spdyExec := func(cfg *rest.Config, u *url.URL) func() error {
		return func() error {
			e, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
			if err != nil {
				return err
			}
			return e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
		}
	}
	wsExec := func() error {
		e, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, viaAPI.String())
		if err != nil {
			return err
		}
		return e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	}
	// The runtime's own exec, without the kubelet API: the floor.
	runtime, runtimeArgv := runtimeExec(b, srv, pod)
	kubectlStart := func() error {
		out, err := exec.Command(harness.Binary(b), "kubectl", "version", "--client").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	// The pod-node's serving certificate may still be on its way (its CSR
	// approved after the pod is Ready): until then the apiserver's TLS
	// handshake with the kubelet endpoint fails.
	testwait.Eventually(b, time.Minute, "first exec", func(context.Context) error { return kubectl() })
	for b.Loop() {
		for _, c := range []struct {
			name string
			run  func() error
		}{
			{"kubectl", kubectl},
			{"spdy", spdyExec(cfg, viaAPI)},
			{"websocket", wsExec},
			{"kubelet-spdy", spdyExec(kubeletCfg, direct)},
			{runtime + "-exec", func() error {
				out, err := exec.Command(runtimeArgv[0], runtimeArgv[1:]...).CombinedOutput()
				if err != nil {
					return fmt.Errorf("%v: %s", err, out)
				}
				return nil
			}},
			{"kubectl-start", kubectlStart},
		} {
			d := timeRuns(b, c.name, execRuns, c.run)
			b.ReportMetric(ms(percentile(d, 50)), c.name+"-p50-ms")
			b.ReportMetric(ms(percentile(d, 99)), c.name+"-p99-ms")
		}
	}
	b.StopTimer()
	deleteAll(ctx, b, cs)
	srv.Stop(b)
}

// kubeletConfig is cfg (the admin's) aimed at pod's pod-node kubelet
// endpoint: the node's InternalIP (the pod's IP) at its daemon endpoint
// port, as the apiserver dials it. The admin's client certificate is
// authorised there as it is at the apiserver.
func kubeletConfig(b *testing.B, cs kubernetes.Interface, cfg *rest.Config, pod *corev1.Pod) *rest.Config {
	node, err := cs.CoreV1().Nodes().Get(context.Background(), pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c := rest.CopyConfig(cfg)
	c.Host = fmt.Sprintf("https://%s:%d", pod.Status.PodIP, node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	// The serving certificate is not what is measured.
	c.Insecure, c.CAData, c.CAFile = true, nil, ""
	return c
}

// runtimeExec returns the OCI runtime's name and its command line that
// runs `true` in the pod's container, as the agent's exec does: RUNTIME
// --root STATE exec ID true, STATE found under the server's data dir.
func runtimeExec(b *testing.B, srv *harness.Server, pod *corev1.Pod) (string, []string) {
	runtime := "runc"
	if tier := os.Getenv("FARGO_BENCH_TIER"); tier != "" {
		runtime = strings.TrimPrefix(tier, "oci/")
	}
	_, id, _ := strings.Cut(pod.Status.ContainerStatuses[0].ContainerID, "://")
	var roots []string
	filepath.WalkDir(srv.DataDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == runtime+"-state" {
			roots = append(roots, path)
			return filepath.SkipDir
		}
		return nil
	})
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, id)); err == nil {
			return runtime, []string{runtime, "--root", root, "exec", id, "true"}
		}
	}
	b.Fatalf("no %s state dir under %s holds container %q (found %v)", runtime, srv.DataDir, id, roots)
	return "", nil
}

// timeRuns runs fn once to warm up (connections, the pod-node's serving
// certificate in the apiserver's cache), then n times, and returns each
// run's wall time.
func timeRuns(b *testing.B, what string, n int, fn func() error) []time.Duration {
	if err := fn(); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	d := make([]time.Duration, 0, n)
	for range n {
		began := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		d = append(d, time.Since(began))
	}
	return d
}

// BenchmarkLogsThroughput reads a completed pod's 50 MB log (500,000 lines
// of 100 bytes, one CRI log file: rotation is set to 100Mi) with `kubectl
// logs POD > /dev/null`, with client-go's GetLogs stream in this process,
// straight from the pod-node's kubelet endpoint (no apiserver), and with
// the kubelet API's CRI log reader alone in this process (no HTTP); MB/s
// are 10^6 bytes of log text a second, medians of 3 reads.
func BenchmarkLogsThroughput(b *testing.B) {
	srv, cs := kubeletCluster(b)
	ctx := context.Background()
	// yes prints 99 characters and a newline per line; head cuts at 50 MB.
	line := strings.Repeat("0123456789", 10)[:99]
	logger := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "logger", Namespace: "start"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{Name: "c", Image: "busybox",
				Command: []string{"sh", "-c", fmt.Sprintf("busybox yes %s | head -c %d", line, logBytes)}}},
		},
	}
	if _, err := cs.CoreV1().Pods("start").Create(ctx, logger, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var pod *corev1.Pod
	testwait.Eventually(b, 5*time.Minute, "logger Succeeded", func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods("start").Get(ctx, "logger", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase == corev1.PodFailed {
			b.Fatalf("logger failed: %+v", p.Status)
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		pod = p
		return nil
	})
	dir := filepath.Join("/var/log/pods", fmt.Sprintf("start_logger_%s", pod.UID), "c")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		b.Fatalf("log files in %s: %v, want just 0.log (not rotated)", dir, files)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		b.Fatal(err)
	}
	terminated := pod.Status.ContainerStatuses[0].State.Terminated
	// The pod-node's kubelet endpoint read straight, without the
	// apiserver's proxy in between.
	kubelet, err := rest.HTTPClientFor(kubeletConfig(b, cs, srv.RESTConfig(b), pod))
	if err != nil {
		b.Fatal(err)
	}
	kubeletURL := kubeletConfig(b, cs, srv.RESTConfig(b), pod).Host + "/containerLogs/start/logger/c"

	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	kubectl := func() (int64, error) {
		cmd := exec.Command(harness.Binary(b), "kubectl", "--kubeconfig", srv.Kubeconfig, "-n", "start", "logs", "logger")
		cmd.Stdout = devNull
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%v: %s", err, stderr.String())
		}
		return logBytes, nil // checked by the client-go read
	}
	clientGo := func() (int64, error) {
		r, err := cs.CoreV1().Pods("start").GetLogs("logger", &corev1.PodLogOptions{Container: "c"}).Stream(ctx)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		return io.Copy(io.Discard, r)
	}
	kubeletRead := func() (int64, error) {
		resp, err := kubelet.Get(kubeletURL)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", kubeletURL, resp.Status)
		}
		return io.Copy(io.Discard, resp.Body)
	}
	// Upstream's CRI log reader alone, in this process, on the same file:
	// what parsing costs, without any HTTP.
	reader := func() (int64, error) {
		var n countingWriter
		err := containerlog.Read(ctx, files[0], nil, nil, &n, &n)
		return int64(n), err
	}
	for b.Loop() {
		b.ReportMetric(float64(st.Size())/1e6, "cri-file-MB")
		if terminated != nil {
			b.ReportMetric(terminated.FinishedAt.Sub(terminated.StartedAt.Time).Seconds(), "write-s")
		}
		for _, c := range []struct {
			name string
			read func() (int64, error)
		}{{"kubectl", kubectl}, {"client-go", clientGo}, {"kubelet", kubeletRead}, {"cri-reader", reader}} {
			rate, cpu := medianMBps(b, "logs "+c.name, srv.Pid(), logBytes, c.read)
			b.ReportMetric(rate, c.name+"-MB/s")
			if c.name != "cri-reader" {
				b.ReportMetric(cpu, c.name+"-fargo-cpu-s")
			}
		}
	}
	b.StopTimer()
	deleteAll(ctx, b, cs)
	srv.Stop(b)
}

// BenchmarkPortForwardThroughput reads a 64 MB file that busybox httpd
// serves from a pod, directly from this host at POD_IP:8080 and through
// `kubectl port-forward`, in the same run: MB/s (10^6 bytes) of each,
// medians of 3 reads, and their ratio.
func BenchmarkPortForwardThroughput(b *testing.B) {
	srv, cs := kubeletCluster(b)
	ctx := context.Background()
	web := idlePod("web", "busybox")
	web.Spec.Containers[0].Command = []string{"sh", "-c",
		fmt.Sprintf("mkdir -p /www && head -c %d /dev/zero > /www/big && exec httpd -f -p 8080 -h /www", bodyBytes)}
	if _, err := cs.CoreV1().Pods("start").Create(ctx, web, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var podIP string
	testwait.Eventually(b, 2*time.Minute, "web running", func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods("start").Get(ctx, "web", metav1.GetOptions{})
		if err != nil || !ready(p) {
			return fmt.Errorf("not ready (%v)", err)
		}
		podIP = p.Status.PodIP
		return nil
	})
	directURL := fmt.Sprintf("http://%s:8080/big", podIP)
	// httpd starts once the file is whole.
	testwait.Eventually(b, time.Minute, "httpd answers", func(context.Context) error {
		_, err := fetchBody(directURL)
		return err
	})
	port, stop := srv.PortForward(b, "start", "pod/web", "8080")
	defer stop()
	forwardedURL := fmt.Sprintf("http://127.0.0.1:%s/big", port)
	for b.Loop() {
		direct, _ := medianMBps(b, "direct", srv.Pid(), bodyBytes, func() (int64, error) { return fetchBody(directURL) })
		forwarded, cpu := medianMBps(b, "port-forward", srv.Pid(), bodyBytes, func() (int64, error) { return fetchBody(forwardedURL) })
		b.ReportMetric(direct, "direct-MB/s")
		b.ReportMetric(forwarded, "port-forward-MB/s")
		b.ReportMetric(forwarded/direct, "ratio")
		b.ReportMetric(cpu, "port-forward-fargo-cpu-s")
	}
	b.StopTimer()
	stop()
	deleteAll(ctx, b, cs)
	srv.Stop(b)
}

// medianMBps reads with read throughputReads times (after one warm-up
// read), checks each read got size bytes, and returns the median rate in
// 10^6 bytes a second, and the CPU seconds process pid (`fargo up`: the
// apiserver and the host agent) spent per read.
func medianMBps(b *testing.B, what string, pid int, size int64, read func() (int64, error)) (float64, float64) {
	if _, err := read(); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	var d []time.Duration
	cpu := cpuSeconds(pid)
	for range throughputReads {
		began := time.Now()
		n, err := read()
		elapsed := time.Since(began)
		if err != nil || n != size {
			b.Fatalf("%s: read %d bytes of %d: %v", what, n, size, err)
		}
		d = append(d, elapsed)
	}
	perRead := (cpuSeconds(pid) - cpu) / throughputReads
	b.Logf("%s: %v, fargo CPU %.2f s a read", what, d, perRead)
	return float64(size) / 1e6 / median(d).Seconds(), perRead
}

// countingWriter counts what is written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// cpuSeconds is the user and system CPU time process pid used so far.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// fetchBody GETs url and returns how many body bytes came.
func fetchBody(url string) (int64, error) {
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.Copy(io.Discard, resp.Body)
}

// kubeletCluster is podStartCluster with container logs rotated only
// past 100Mi, so the 50 MB log stays one file.
func kubeletCluster(b *testing.B) (*harness.Server, kubernetes.Interface) {
	return podStartCluster(b, "--cpu", "8", "--memory", "16Gi", "--container-log-max-size", "100Mi")
}
