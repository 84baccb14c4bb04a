package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// maxRouterGrowth is how much more the fargo process may take in a
// flood three times larger: the router holds one bounded batch per pod,
// and the backlog waits on disk, in the container's log file. (How much a
// flood takes at all is mostly the Go heap's pacing: garbage may grow to
// the size of the live heap, the whole control plane's, before a GC.)
const maxRouterGrowth = 64 << 20

// TestLogFloodKeepsMemoryBounded: pods write 100 MB, then 300 MB, of log
// as fast as they can (faster than 20 MB/s here), routed to an HTTP
// receiver with the extended outputs. Every line arrives once, and the
// fargo process's memory does not grow with the size of the flood.
func TestLogFloodKeepsMemoryBounded(t *testing.T) {
	harness.RequireRoot(t)
	var lines atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := bufio.NewScanner(r.Body)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			lines.Add(1)
		}
	})}
	go rcv.Serve(ln)
	t.Cleanup(func() { rcv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())

	srv := startRunning(t, "--logging-outputs", "extended", "--container-log-max-size", "500Mi")
	apply(t, srv, fmt.Sprintf(`apiVersion: v1
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
`, host, port))
	t.Cleanup(func() { srv.Kubectl(t, "delete", "namespace", "aws-observability", "--wait=false") })
	apply(t, srv, studyNamespace)
	// The first flood settles the Go heap's pacing; the second, three
	// times larger, must not take more memory than the first.
	before := rssBytes(t, srv.Pid())
	first := flood(t, srv, "flood-1", 1_000_000, &lines, before)
	second := flood(t, srv, "flood-2", 3_000_000, &lines, first)
	t.Logf("fargo RSS %d MiB before, peak %d MiB in a 100 MB flood, %d MiB in a 300 MB one", before>>20, first>>20, second>>20)
	if second-first > maxRouterGrowth {
		t.Errorf("fargo grew by %d MiB more in a 300 MB flood than in a 100 MB one: memory grows with the log, want at most %d MiB more",
			(second-first)>>20, maxRouterGrowth>>20)
	}
}

// flood runs a pod that writes n lines of 100 bytes as fast as it can,
// waits until the receiver counted them all (each once), and returns the
// fargo process's peak RSS meanwhile (at least peak).
func flood(t *testing.T, srv *harness.Server, name string, n int64, lines *atomic.Int64, peak int64) int64 {
	t.Helper()
	lines.Store(0)
	apply(t, srv, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: study-aews}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "busybox yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 | head -c %d"]
`, name, n*100))
	testwait.Eventually(t, 5*time.Minute, fmt.Sprintf("%d lines of %s received", n, name), func(context.Context) error {
		peak = max(peak, rssBytes(t, srv.Pid()))
		if got := lines.Load(); got < n {
			return fmt.Errorf("%d lines", got)
		}
		return nil
	})
	if got := lines.Load(); got != n {
		t.Errorf("%s: %d lines received, want %d once each", name, got, n)
	}
	return peak
}

// rssBytes is a process's resident memory.
func rssBytes(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
