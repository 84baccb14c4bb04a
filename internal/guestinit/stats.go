package guestinit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// stats reads the pod's cgroup and each running container's.
func (s *server) stats() vmproto.Stats {
	out := vmproto.Stats{Pod: usage(podCgroup)}
	for _, st := range s.list() {
		if st.State != vmproto.StateRunning {
			continue
		}
		out.Containers = append(out.Containers, vmproto.ContainerUsage{
			ID: st.ID, Name: st.Name, StartedAt: st.StartedAt, Usage: usage(filepath.Join(podCgroup, st.ID)),
		})
	}
	return out
}

func usage(dir string) vmproto.Usage {
	u := vmproto.Usage{At: time.Now()}
	cpu := keyed(filepath.Join(dir, "cpu.stat"))
	u.CPUUsageNanoseconds = cpu["usage_usec"] * 1000
	mem := keyed(filepath.Join(dir, "memory.stat"))
	b, _ := os.ReadFile(filepath.Join(dir, "memory.current"))
	u.MemoryUsageBytes, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	u.MemoryWorkingSetBytes = u.MemoryUsageBytes - min(mem["inactive_file"], u.MemoryUsageBytes)
	u.MemoryRSSBytes = mem["anon"]
	return u
}

// keyed reads a cgroup file of "key value" lines.
func keyed(path string) map[string]uint64 {
	b, _ := os.ReadFile(path)
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			out[f[0]], _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return out
}
