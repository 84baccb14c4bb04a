package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startCPUProfile asks the fargo process serving Go's profiles at addr for
// a CPU profile of the next d, and sends its samples split by component
// when it is done.
func startCPUProfile(b *testing.B, addr string, d time.Duration) <-chan map[string]time.Duration {
	out := make(chan map[string]time.Duration, 1)
	path := filepath.Join(b.TempDir(), "cpu.pprof")
	if keep := os.Getenv("FARGO_BENCH_PPROF"); keep != "" {
		path = keep // to read with go tool pprof
	}
	go func() {
		split, err := fetchProfileSplit(addr, d, path)
		if err != nil {
			b.Errorf("CPU profile: %v", err)
		}
		out <- split
	}()
	return out
}

func fetchProfileSplit(addr string, d time.Duration, path string) (map[string]time.Duration, error) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))
	resp, err := (&http.Client{Timeout: d + time.Minute}).Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	traces, err := exec.Command("go", "tool", "pprof", "-traces", path).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces: %w", err)
	}
	return splitTraces(string(traces)), nil
}

// components name a stack's part of fargo up by the packages in it, first
// match wins: fargo's own code (by package) before the upstream parts it
// calls, and the apiserver before the etcd client it calls.
var components = []struct{ name, prefix string }{
	{"", "github.com/fargo-dev/fargo/internal/"}, // named by package below
	{"controller-manager", "k8s.io/kubernetes/pkg/controller"},
	{"kube-proxy", "k8s.io/kubernetes/pkg/proxy"},
	{"apiserver", "k8s.io/apiserver/"},
	{"apiserver", "k8s.io/kubernetes/pkg/registry"},
	{"apiserver", "k8s.io/apiextensions-apiserver"},
	{"apiserver", "k8s.io/kube-aggregator"},
	{"etcd (server)", "go.etcd.io/etcd/server"},
	{"etcd (server)", "go.etcd.io/raft"},
	{"etcd client, gRPC", "go.etcd.io/etcd/client"},
	{"etcd client, gRPC", "google.golang.org/grpc"},
	{"CoreDNS", "github.com/coredns"},
	{"metrics-server", "sigs.k8s.io/metrics-server"},
	{"client-go (informers, clients)", "k8s.io/client-go"},
	{"Go GC (background)", "runtime.gcBgMarkWorker"},
	{"Go GC (background)", "runtime.bgsweep"},
	{"Go GC (background)", "runtime.bgscavenge"},
}

// splitTraces sums `go tool pprof -traces` samples by component.
func splitTraces(text string) map[string]time.Duration {
	split := map[string]time.Duration{}
	for _, block := range strings.Split(text, "-----------+-------------------------------------------------------") {
		value, frames := parseTrace(block)
		if value > 0 {
			split[component(frames)] += value
		}
	}
	return split
}

// parseTrace reads one sample: "   10ms   leaf" then one frame a line,
// leaf first.
func parseTrace(block string) (time.Duration, []string) {
	var value time.Duration
	var frames []string
	for _, line := range strings.Split(block, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.Contains(line, ":") && value == 0 && len(frames) == 0 && !isDuration(f[0]) {
			continue // the header
		}
		if value == 0 && len(frames) == 0 && isDuration(f[0]) {
			value, _ = time.ParseDuration(f[0])
			f = f[1:]
		}
		if len(f) > 0 {
			frames = append(frames, f[0])
		}
	}
	return value, frames
}

func isDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

// component names the part of fargo up that a stack (leaf first) belongs
// to: fargo's deepest package in it (the code that does the work, say the
// sandbox runtime under the pod runner), else the upstream part it runs in
// (its root-most frame of a known prefix).
func component(frames []string) string {
	for _, c := range components {
		if c.name == "" {
			for _, f := range frames { // leaf first
				if pkg, ok := strings.CutPrefix(f, c.prefix); ok {
					if j := strings.IndexAny(pkg, ".("); j >= 0 {
						pkg = pkg[:j]
					}
					return "fargo " + strings.TrimSuffix(pkg, "/")
				}
			}
			continue
		}
		for i := len(frames) - 1; i >= 0; i-- { // root first
			if strings.HasPrefix(frames[i], c.prefix) {
				return c.name
			}
		}
	}
	return "other (runtime, syscalls, stdlib)"
}

func logProfileSplit(b *testing.B, split map[string]time.Duration) {
	if split == nil {
		return
	}
	var total time.Duration
	secs := map[string]float64{}
	for k, v := range split {
		total += v
		secs[k] = v.Seconds()
	}
	var t strings.Builder
	fmt.Fprintf(&t, "fargo up's CPU in the burst, by component (CPU profile, %.2f CPU-s sampled):\n", total.Seconds())
	fmt.Fprintf(&t, "| component | CPU-s | share |\n|---|---|---|\n")
	for _, k := range sortedKeys(secs) {
		fmt.Fprintf(&t, "| %s | %.2f | %.0f%% |\n", k, secs[k], 100*secs[k]/total.Seconds())
	}
	b.Log("\n" + t.String())
}
