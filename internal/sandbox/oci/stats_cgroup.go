package oci

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// memoryStatKeys name, per cgroup version, the memory.stat entries that
// cadvisor (and so the kubelet) subtracts for the working set and reports
// as RSS. v1's total_ entries count the whole subtree, as usage does.
type memoryStatKeys struct{ inactiveFile, rss string }

var (
	v1StatKeys = memoryStatKeys{inactiveFile: "total_inactive_file", rss: "total_rss"}
	v2StatKeys = memoryStatKeys{inactiveFile: "inactive_file", rss: "anon"}
)

// usage reads cgroup path's cumulative CPU time and memory. An error
// wrapping os.ErrNotExist means the cgroup is gone (its processes ended).
func (l *cgroupLayout) usage(path string) (sandbox.Usage, error) {
	if l.unified {
		return readUsage(filepath.Join(l.v2Root, path), filepath.Join(l.v2Root, path), true)
	}
	return readUsage(filepath.Join(l.v1["cpuacct"], path), filepath.Join(l.v1["memory"], path), false)
}

// readUsage reads the CPU counter in cpuDir and the memory figures in
// memDir (the same directory on cgroup v2).
func readUsage(cpuDir, memDir string, v2 bool) (sandbox.Usage, error) {
	u := sandbox.Usage{At: time.Now()}
	var err error
	keys := v1StatKeys
	if v2 {
		keys = v2StatKeys
		u.CPUUsageNanoseconds, err = readKeyedValue(filepath.Join(cpuDir, "cpu.stat"), "usage_usec")
		u.CPUUsageNanoseconds *= 1000
	} else {
		u.CPUUsageNanoseconds, err = readSingleValue(filepath.Join(cpuDir, "cpuacct.usage"))
	}
	if err != nil {
		return u, err
	}
	usageFile := "memory.usage_in_bytes"
	if v2 {
		usageFile = "memory.current"
	}
	if u.MemoryUsageBytes, err = readSingleValue(filepath.Join(memDir, usageFile)); err != nil {
		return u, err
	}
	stat, err := readKeyedFile(filepath.Join(memDir, "memory.stat"))
	if err != nil {
		return u, err
	}
	u.MemoryRSSBytes = stat[keys.rss]
	u.MemoryWorkingSetBytes = workingSet(u.MemoryUsageBytes, stat[keys.inactiveFile])
	return u, nil
}

// workingSet is usage less inactive file pages, floored at zero: the
// kubelet's (cadvisor's) working set, which eviction and `kubectl top` use.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// readSingleValue reads a cgroup file holding one unsigned number.
func readSingleValue(file string) (uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("read cgroup file: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup file %s: %w", file, err)
	}
	return v, nil
}

// readKeyedValue reads one entry of a "key value" per line cgroup file.
func readKeyedValue(file, key string) (uint64, error) {
	values, err := readKeyedFile(file)
	if err != nil {
		return 0, err
	}
	v, ok := values[key]
	if !ok {
		return 0, fmt.Errorf("cgroup file %s has no %s: is the controller enabled for this cgroup?", file, key)
	}
	return v, nil
}

// readKeyedFile reads a "key value" per line cgroup file (memory.stat,
// cpu.stat); lines whose value is not a number are skipped.
func readKeyedFile(file string) (map[string]uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read cgroup file: %w", err)
	}
	values := map[string]uint64{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		key, value, ok := strings.Cut(s.Text(), " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64); err == nil {
			values[key] = v
		}
	}
	return values, s.Err()
}
