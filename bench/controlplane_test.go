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
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// BenchmarkServerStart times `fargo server` from exec to the apiserver's
// /readyz answering ok (the "apiserver ready" line is printed right after)
// and to the whole control plane being ready, on a fresh data dir (cold) and
// on one that already holds a cluster (warm). Run with -benchtime 5x for the
// median of 5.
func BenchmarkServerStart(b *testing.B) { benchStarts(b, "server") }

// BenchmarkUpStart is BenchmarkServerStart for `fargo up`, the server
// and this machine's host agent: the time from exec to each stage's
// "ready" line, and to "fargo is ready".
func BenchmarkUpStart(b *testing.B) { benchStarts(b, "up") }

// startStages are the progress lines of a start, in the order they are
// reported; stages after the apiserver run side by side.
var startStages = []string{"certificates", "etcd", "apiserver", "controller-manager", "fargate controllers",
	"metrics API", "cluster DNS", "host agent"}

func benchStarts(b *testing.B, verb string) {
	harness.RequireRoot(b)
	b.Run("cold", func(b *testing.B) {
		measureStarts(b, verb, func(b *testing.B) *harness.Server { return harness.NewServer(b, verb, b.TempDir()) })
	})
	b.Run("warm", func(b *testing.B) {
		// One server, started again and again on its data dir, as a
		// user restarts fargo up.
		srv := harness.NewServer(b, verb, b.TempDir())
		srv.Start(b)
		srv.Stop(b)
		measureStarts(b, verb, func(*testing.B) *harness.Server { return srv })
	})
}

func measureStarts(b *testing.B, verb string, server func(*testing.B) *harness.Server) {
	at := map[string][]time.Duration{}
	for b.Loop() {
		srv := server(b)
		srv.Start(b)
		for _, stage := range startStages {
			if d := srv.Since(stage + " ready"); d >= 0 {
				at[stage] = append(at[stage], d)
			}
		}
		at["fargo"] = append(at["fargo"], srv.Since("fargo is ready"))
		b.StopTimer()
		srv.Stop(b)
		b.StartTimer()
	}
	b.ReportMetric(median(at["apiserver"]).Seconds(), "readyz-median-s")
	b.ReportMetric(median(at["fargo"]).Seconds(), "ready-median-s")
	for _, stage := range append(startStages, "fargo") {
		if len(at[stage]) > 0 {
			b.Logf("%-20s ready at (median) %5.2f s; all runs %v", stage, median(at[stage]).Seconds(), at[stage])
		}
	}
}

// BenchmarkServerIdleRSS reports the resident memory of an idle `fargo
// server` FARGO_IDLE (default 60s) after it became ready.
func BenchmarkServerIdleRSS(b *testing.B) { benchIdleRSS(b, "server") }

// BenchmarkUpIdleRSS is BenchmarkServerIdleRSS for `fargo up` with no
// pods: the server, the host agent and its children (kube-proxy).
func BenchmarkUpIdleRSS(b *testing.B) { benchIdleRSS(b, "up") }

func benchIdleRSS(b *testing.B, verb string) {
	harness.RequireRoot(b)
	idle := time.Minute
	if v := os.Getenv("FARGO_IDLE"); v != "" {
		var err error
		if idle, err = time.ParseDuration(v); err != nil {
			b.Fatalf("FARGO_IDLE=%q: %v", v, err)
		}
	}
	for b.Loop() {
		srv := harness.NewServer(b, verb, b.TempDir())
		srv.Start(b)
		time.Sleep(idle)
		rss, err := groupResidentMiB(srv.Pid())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rss, "idle-rss-MiB")
		srv.Stop(b)
	}
}

// groupResidentMiB sums the resident memory of the processes of the
// process group pgid (the harness starts fargo as a group leader).
func groupResidentMiB(pgid int) (float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total float64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		rss, err := residentMiB(pid)
		if err != nil {
			continue // it exited meanwhile
		}
		total += rss
	}
	if total == 0 {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return total, nil
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
