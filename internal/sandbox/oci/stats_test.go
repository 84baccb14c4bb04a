package oci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

func TestStatsOfBusyPod(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	busy := startContainer(t, r, pod.UID, shellContainer(t, layer, "busy", "while :; do :; done"))
	idle := startContainer(t, r, pod.UID, shellContainer(t, layer, "idle", "exec sleep 1000"))
	ctx := context.Background()

	first, err := r.Stats(ctx, pod.UID)
	must(t, err)
	if first.StartedAt.IsZero() || time.Since(first.StartedAt) > time.Minute {
		t.Errorf("pod StartedAt = %v, want the sandbox's start moments ago", first.StartedAt)
	}
	// The busy loop gets the pod's 0.25 vCPU: its counter grows by
	// milliseconds per reading; wait for a clear rise.
	var last sandbox.PodUsage
	deadline := time.Now().Add(10 * time.Second)
	for {
		last, err = r.Stats(ctx, pod.UID)
		must(t, err)
		if byName(last, "busy").CPUUsageNanoseconds > byName(first, "busy").CPUUsageNanoseconds+50e6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("busy container's CPU did not grow by 50ms in 10s: first %+v, last %+v", first, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(last.Containers) != 2 {
		t.Fatalf("Stats has %d containers, want busy and idle: %+v", len(last.Containers), last.Containers)
	}
	b, i := byName(last, "busy"), byName(last, "idle")
	if b.ID != busy.ID || i.ID != idle.ID || b.StartedAt.IsZero() {
		t.Errorf("containers %+v, want IDs %s and %s with start times", last.Containers, busy.ID, idle.ID)
	}
	if last.Usage.CPUUsageNanoseconds < b.CPUUsageNanoseconds+i.CPUUsageNanoseconds {
		t.Errorf("pod CPU %d < its containers' %d + %d", last.Usage.CPUUsageNanoseconds, b.CPUUsageNanoseconds, i.CPUUsageNanoseconds)
	}
	for name, u := range map[string]sandbox.Usage{"pod": last.Usage, "busy": b.Usage, "idle": i.Usage} {
		if u.MemoryWorkingSetBytes == 0 || u.MemoryWorkingSetBytes > u.MemoryUsageBytes || u.MemoryRSSBytes == 0 || u.At.IsZero() {
			t.Errorf("%s memory: %+v, want 0 < working set <= usage, non-zero RSS and a time", name, u)
		}
	}

	t.Run("exited container left out", func(t *testing.T) {
		must(t, r.StopContainer(ctx, pod.UID, busy.ID, time.Second))
		after, err := r.Stats(ctx, pod.UID)
		must(t, err)
		if len(after.Containers) != 1 || after.Containers[0].ID != idle.ID {
			t.Errorf("after stopping busy, containers = %+v, want idle only", after.Containers)
		}
	})
	t.Run("unknown pod", func(t *testing.T) {
		if _, err := r.Stats(ctx, "no-such-pod"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stats of an unknown pod: %v, want os.ErrNotExist", err)
		}
	})
}

func byName(p sandbox.PodUsage, name string) sandbox.ContainerUsage {
	for _, c := range p.Containers {
		if c.Name == name {
			return c
		}
	}
	return sandbox.ContainerUsage{}
}

// TestReadUsageFiles reads both cgroup versions' files, whichever this
// host mounts, with cadvisor's working set (usage - inactive_file).
func TestReadUsageFiles(t *testing.T) {
	write := func(dir string, files map[string]string) {
		for name, content := range files {
			must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		}
	}
	v1cpu, v1mem, v2 := t.TempDir(), t.TempDir(), t.TempDir()
	write(v1cpu, map[string]string{"cpuacct.usage": "123456789\n"})
	write(v1mem, map[string]string{
		"memory.usage_in_bytes": "10000\n",
		"memory.stat":           "cache 1\nrss 2\ninactive_file 3\ntotal_rss 4000\ntotal_inactive_file 2500\n",
	})
	write(v2, map[string]string{
		"cpu.stat":       "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n",
		"memory.current": "8192\n",
		"memory.stat":    "anon 4096\nfile 4096\ninactive_file 9000\n",
	})
	for _, tc := range []struct {
		name           string
		cpuDir, memDir string
		v2             bool
		want           sandbox.Usage
	}{
		{"v1", v1cpu, v1mem, false, sandbox.Usage{CPUUsageNanoseconds: 123456789, MemoryUsageBytes: 10000, MemoryWorkingSetBytes: 7500, MemoryRSSBytes: 4000}},
		// Inactive file pages above usage (they are counted lazily) floor
		// the working set at zero, as cadvisor does.
		{"v2", v2, v2, true, sandbox.Usage{CPUUsageNanoseconds: 5000000, MemoryUsageBytes: 8192, MemoryWorkingSetBytes: 0, MemoryRSSBytes: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readUsage(tc.cpuDir, tc.memDir, tc.v2)
			must(t, err)
			got.At = time.Time{}
			if got != tc.want {
				t.Errorf("readUsage = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := readUsage(filepath.Join(v1cpu, "gone"), v1mem, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readUsage of a removed cgroup: %v, want os.ErrNotExist", err)
	}
}
