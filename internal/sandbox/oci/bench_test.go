package oci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkPodStart measures CreatePod + StartContainer of a sleeping
// container, reporting the medians (of both, and of StartContainer alone)
// and the memory (RSS) of the pod's pause process and the container's
// shim.
//
//	go test -run '^$' -bench PodStart -benchtime 20x ./internal/sandbox/oci
func BenchmarkPodStart(b *testing.B) {
	layer := busyboxLayer(b)
	netns := testNetns(b)
	for _, name := range []string{"runc", "crun", "runsc"} {
		b.Run(name, func(b *testing.B) {
			if _, err := exec.LookPath(name); err != nil {
				b.Skipf("SKIP: %s is not installed", name)
			}
			benchmarkPodStart(b, testRuntime(b, name), layer, netns)
		})
	}
}

func benchmarkPodStart(b *testing.B, r *Runtime, layer, netns string) {
	ctx := context.Background()
	var took, containerTook []time.Duration
	var shimRSS, shimAnon []int
	// The OCI runtime's and the shims' CPU: each is a child (or a child's
	// child) of this process, counted once it has been waited for, which
	// RemovePod does. The kernel's work on this process's behalf
	// (namespaces, mounts, cgroups) is in this process's own CPU, not
	// counted here.
	cpuBefore := childrenCPU(b)
	for b.Loop() {
		pod := podConfig(netns)
		began := time.Now()
		if err := r.CreatePod(ctx, pod); err != nil {
			b.Fatal(err)
		}
		podMade := time.Now()
		st, err := r.StartContainer(ctx, pod.UID, shellContainer(b, layer, "sleep", "exec sleep 1000"))
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(began))
		containerTook = append(containerTook, time.Since(podMade))
		b.StopTimer()
		state, err := r.readState(pod.UID, st.ID)
		must(b, err)
		shimRSS = append(shimRSS, statusKiB(b, state.Shim.Pid, "VmRSS"))
		shimAnon = append(shimAnon, statusKiB(b, state.Shim.Pid, "RssAnon"))
		must(b, r.RemovePod(ctx, pod.UID))
		b.StartTimer()
	}
	b.ReportMetric(float64((childrenCPU(b)-cpuBefore).Microseconds())/1000/float64(b.N), "cpu-ms/pod")
	b.ReportMetric(float64(median(took).Microseconds())/1000, "ms-p50-pod+container")
	b.ReportMetric(float64(median(containerTook).Microseconds())/1000, "ms-p50-container")
	b.ReportMetric(float64(slices.Max(shimRSS)), "KiB-shim-RSS")
	// The rest of RSS is the binary's pages, shared by every shim.
	b.ReportMetric(float64(slices.Max(shimAnon)), "KiB-shim-anon")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// statusKiB reads a memory field (VmRSS, RssAnon) of /proc/PID/status.
func statusKiB(t testing.TB, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			must(t, err)
			return n
		}
	}
	t.Fatalf("no %s for pid %d", field, pid)
	return 0
}

// childrenCPU is the user and system time of this process's children
// that have been waited for.
func childrenCPU(t testing.TB) time.Duration {
	var ru unix.Rusage
	must(t, unix.Getrusage(unix.RUSAGE_CHILDREN, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
