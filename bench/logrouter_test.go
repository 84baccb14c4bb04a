package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/testwait"
)

// logReceiver is an HTTP receiver of the router's json_lines: it counts
// records and bytes, notes when the first and last came, and how long
// after its CRI time (the shim's stamp when it read the line) each came.
type logReceiver struct {
	mu            sync.Mutex
	records, size int
	first, last   time.Time
	latencies     []time.Duration
	srv           *http.Server
	addr          string
}

func startReceiver(b *testing.B) *logReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	r := &logReceiver{addr: ln.Addr().String()}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(ln)
	b.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *logReceiver) serve(w http.ResponseWriter, req *http.Request) {
	s := bufio.NewScanner(req.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	var n, size int
	var lat []time.Duration
	now := time.Now()
	for s.Scan() {
		var rec struct{ Log string }
		if json.Unmarshal(s.Bytes(), &rec) != nil {
			continue
		}
		n++
		stamp, text, _ := strings.Cut(rec.Log, " ")
		size += len(text)
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			lat = append(lat, now.Sub(t))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.records == 0 {
		r.first = now
	}
	r.records += n
	r.size += size
	r.last = now
	r.latencies = append(r.latencies, lat...)
}

func (r *logReceiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records, r.size, r.latencies = 0, 0, nil
}

func (r *logReceiver) count() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records, r.size
}

// loggingConfig routes every pod's raw CRI lines to the receiver.
func loggingConfig(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: aws-observability
  labels: {aws-observability: enabled}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-logging, namespace: aws-observability}
data:
  output.conf: |
    [OUTPUT]
        Name http
        Match *
        Host %s
        Port %s
        URI /logs
        Format json_lines
`, host, port)
}

func loggerPod(name, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "start"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers:                    []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sh", "-c", script}}},
		},
	}
}

// BenchmarkLogRouter sends one pod's log through the host's log router to
// an HTTP receiver (Fluent Bit's http output, json_lines) on fargo up:
// throughput (a pod writing 50 MB of 100-byte lines as fast as it can:
// lines/s and MB/s through the router, the fargo process's CPU seconds
// per MB above its idle rate), and latency (a pod writing 100 lines a
// second for 20 s: arrival minus the CRI time, p50 and p99).
func BenchmarkLogRouter(b *testing.B) {
	rcv := startReceiver(b)
	srv, cs := podStartCluster(b, "--logging-outputs", "extended", "--container-log-max-size", "100Mi")
	if out, err := srv.KubectlStdin(b, loggingConfig(rcv.addr), "apply", "-f", "-"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	ctx := context.Background()
	line := strings.Repeat("0123456789", 10)[:99]
	const total = 50 << 20
	lines := total / 100
	for b.Loop() {
		rcv.reset()
		idle := idleCPURate(srv.Pid(), 5*time.Second)
		cpu0 := cpuSeconds(srv.Pid())
		began := time.Now()
		pod := loggerPod("flood", fmt.Sprintf("busybox yes %s | head -c %d", line, total))
		if _, err := cs.CoreV1().Pods("start").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		testwait.Eventually(b, 5*time.Minute, "50 MB received", func(context.Context) error {
			if n, _ := rcv.count(); n < lines {
				return fmt.Errorf("%d of %d lines", n, lines)
			}
			return nil
		})
		rcv.mu.Lock()
		span := rcv.last.Sub(rcv.first)
		mb := float64(rcv.size) / 1e6
		rcv.mu.Unlock()
		cpu := cpuSeconds(srv.Pid()) - cpu0 - idle*time.Since(began).Seconds()
		b.ReportMetric(float64(lines)/span.Seconds(), "lines/s")
		b.ReportMetric(mb/span.Seconds(), "MB/s")
		b.ReportMetric(cpu/mb, "fargo-cpu-s/MB")
		b.Logf("flood: %d lines, %.1f MB in %s (first to last arrival); fargo CPU %.1f s above idle (%.2f cores idle)", lines, mb, span.Round(time.Millisecond), cpu, idle)

		rcv.reset()
		ticker := loggerPod("ticker", "i=0; while [ $i -lt 2000 ]; do echo tick $i; i=$((i+1)); usleep 10000; done")
		if _, err := cs.CoreV1().Pods("start").Create(ctx, ticker, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		testwait.Eventually(b, 2*time.Minute, "2000 ticks received", func(context.Context) error {
			if n, _ := rcv.count(); n < 2000 {
				return fmt.Errorf("%d of 2000", n)
			}
			return nil
		})
		rcv.mu.Lock()
		lat := slices.Clone(rcv.latencies)
		rcv.mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(ms(percentile(lat, 50)), "latency-p50-ms")
		b.ReportMetric(ms(percentile(lat, 99)), "latency-p99-ms")
		deleteAll(ctx, b, cs)
	}
}

// idleCPURate is the cores process pid uses while nothing happens.
func idleCPURate(pid int, d time.Duration) float64 {
	c0 := cpuSeconds(pid)
	time.Sleep(d)
	return (cpuSeconds(pid) - c0) / d.Seconds()
}
