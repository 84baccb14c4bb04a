// Package bench holds fargo's benchmarks. They run real fargo processes and
// report the numbers the issues set goals for; RESULTS.md records them with
// the commands that produced them.
package bench

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// BenchmarkServerStart times `fargo server` from exec to the apiserver's
// /readyz answering ok (the "apiserver ready" line is printed right after)
// and to the whole control plane being ready, on a fresh data dir (cold) and
// on one that already holds a cluster (warm). Run with -benchtime 5x for the
// median of 5.
func BenchmarkServerStart(b *testing.B) {
	harness.RequireRoot(b)
	b.Run("cold", func(b *testing.B) {
		measureStarts(b, func(b *testing.B) string { return b.TempDir() })
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		srv := harness.NewServer(b, "server", dir)
		srv.Start(b)
		srv.Stop(b)
		measureStarts(b, func(*testing.B) string { return dir })
	})
}

func measureStarts(b *testing.B, dataDir func(*testing.B) string) {
	var readyz, ready []time.Duration
	for b.Loop() {
		srv := harness.NewServer(b, "server", dataDir(b))
		srv.Start(b)
		readyz = append(readyz, srv.Since("apiserver ready"))
		ready = append(ready, srv.Since("fargo is ready"))
		b.StopTimer()
		srv.Stop(b)
		b.StartTimer()
	}
	b.ReportMetric(median(readyz).Seconds(), "readyz-median-s")
	b.ReportMetric(median(ready).Seconds(), "ready-median-s")
	b.Logf("to /readyz: %v; to all ready: %v", readyz, ready)
}

// BenchmarkServerIdleRSS reports the resident memory of an idle `fargo
// server` FARGO_IDLE (default 60s) after it became ready.
func BenchmarkServerIdleRSS(b *testing.B) {
	harness.RequireRoot(b)
	idle := time.Minute
	if v := os.Getenv("FARGO_IDLE"); v != "" {
		var err error
		if idle, err = time.ParseDuration(v); err != nil {
			b.Fatalf("FARGO_IDLE=%q: %v", v, err)
		}
	}
	for b.Loop() {
		srv := harness.NewServer(b, "server", b.TempDir())
		srv.Start(b)
		time.Sleep(idle)
		rss, err := residentMiB(srv.Pid())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rss, "idle-rss-MiB")
		srv.Stop(b)
	}
}

func residentMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func median[T cmp.Ordered](d []T) T {
	if len(d) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
