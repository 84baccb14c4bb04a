package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// BenchmarkServerIdleRSS reports the resident memory of an idle `fargo
// server` FARGO_IDLE (default 60s) after it became ready.
func BenchmarkServerIdleRSS(b *testing.B) { benchIdleRSS(b, "server") }

// BenchmarkUpIdleRSS is BenchmarkServerIdleRSS for `fargo up` with no
// pods: the server, the host agent and its children (kube-proxy).
func BenchmarkUpIdleRSS(b *testing.B) { benchIdleRSS(b, "up") }

// benchIdleRSS measures fargo as it ships (it trims its heap every 30 s,
// internal/heaptrim) beside the same binary with Go's default pacing
// (FARGO_HEAPTRIM=off), in one run. It samples every second over the
// second half of the idle time and reports the highest and the mean, so a
// trim just before a lone sample cannot flatter the number.
func benchIdleRSS(b *testing.B, verb string) {
	harness.RequireRoot(b)
	idle := time.Minute
	if v := os.Getenv("FARGO_IDLE"); v != "" {
		var err error
		if idle, err = time.ParseDuration(v); err != nil {
			b.Fatalf("FARGO_IDLE=%q: %v", v, err)
		}
	}
	for _, variant := range []struct {
		name string
		env  []string
	}{
		{"shipped", nil},
		{"FARGO_HEAPTRIM=off", []string{"FARGO_HEAPTRIM=off"}},
	} {
		b.Run(variant.name, func(b *testing.B) {
			for b.Loop() {
				srv := harness.NewServer(b, verb, b.TempDir())
				srv.Env = variant.env
				srv.Start(b)
				peak, mean := sampleIdle(b, srv.Pid(), idle)
				b.ReportMetric(peak.resident, "idle-rss-max-MiB")
				b.ReportMetric(mean.resident, "idle-rss-mean-MiB")
				b.ReportMetric(peak.summedRSS, "summed-vmrss-max-MiB")
				b.ReportMetric(peak.anon, "anon-max-MiB")
				b.ReportMetric(float64(peak.procs), "procs")
				srv.Stop(b)
			}
		})
	}
}

// sampleIdle waits idle, reading the group's memory every second of its
// second half, and returns the sample with the most resident memory and
// the mean of all.
func sampleIdle(b *testing.B, pgid int, idle time.Duration) (peak, mean memory) {
	start := time.Now()
	var n float64
	for time.Since(start) < idle {
		time.Sleep(time.Second)
		if time.Since(start) < idle/2 {
			continue
		}
		m, err := groupMemory(pgid)
		if err != nil {
			b.Fatal(err)
		}
		if m.resident > peak.resident {
			peak = m
		}
		mean.resident += m.resident
		mean.summedRSS += m.summedRSS
		mean.anon += m.anon
		n++
	}
	if n == 0 {
		b.Fatalf("FARGO_IDLE=%v leaves no time to sample", idle)
	}
	mean.resident, mean.summedRSS, mean.anon = mean.resident/n, mean.summedRSS/n, mean.anon/n
	return peak, mean
}

// memory is what a process group holds in RAM, in MiB.
type memory struct {
	// resident counts each resident page of the group once: the sum of
	// the processes' proportional set sizes. Children that run the fargo
	// binary (kube-proxy) share its pages with the parent; summing their
	// VmRSS counts those pages twice.
	resident float64
	// summedRSS is the sum of VmRSS, shared pages counted in each process.
	summedRSS float64
	// anon is memory no file backs: heaps and stacks.
	anon  float64
	procs int
}

// groupMemory reads the memory of the processes of the process group
// pgid (the harness starts fargo as a group leader).
func groupMemory(pgid int) (memory, error) {
	var m memory
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return m, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		status, err1 := procKiB(fmt.Sprintf("/proc/%d/status", pid))
		rollup, err2 := procKiB(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err1 != nil || err2 != nil {
			continue // it exited meanwhile
		}
		m.resident += rollup["Pss"] / 1024
		m.summedRSS += status["VmRSS"] / 1024
		m.anon += status["RssAnon"] / 1024
		m.procs++
	}
	if m.procs == 0 {
		return m, fmt.Errorf("no process in group %d", pgid)
	}
	return m, nil
}

// procKiB reads the "Key:   N kB" lines of a /proc file.
func procKiB(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[2] == "kB" {
			if v, err := strconv.ParseFloat(fields[1], 64); err == nil {
				out[strings.TrimSuffix(fields[0], ":")] = v
			}
		}
	}
	return out, sc.Err()
}
