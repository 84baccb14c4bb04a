// Package bench holds fargo's benchmarks. They run real fargo processes and
// report the numbers the issues set goals for; RESULTS.md records them with
// the commands that produced them.
package bench

import (
	"cmp"
	"slices"
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

func median[T cmp.Ordered](d []T) T {
	if len(d) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
