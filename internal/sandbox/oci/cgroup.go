package oci

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// cgroupLayout is how this host mounts cgroups: pure v2 (one unified
// hierarchy) or v1 (a hierarchy per controller, possibly with a cgroup2
// mount beside them, the "hybrid" layout).
type cgroupLayout struct {
	// unified is true on a pure cgroup v2 host; v2Root is its mount.
	unified bool
	v2Root  string
	// v1 maps a v1 controller (cpu, memory, ..., name=systemd) to the
	// mount point of its hierarchy.
	v1 map[string]string
	// mounts are every cgroup hierarchy's mount point, v1 and v2: a pod's
	// directories are removed from all of them.
	mounts []string
}

// podControllers are the v1 hierarchies in which the runtime itself makes
// the pod's directory; the OCI runtime makes the others for containers.
var podControllers = []string{"cpu", "cpuacct", "memory", "pids"}

// v1MountOptions are the super options of a v1 cgroup mount that are
// not controllers.
var v1MountOptions = map[string]bool{
	"rw": true, "ro": true, "xattr": true, "noprefix": true,
	"clone_children": true, "cpuset_v2_mode": true, "favordynmods": true,
}

// cfsPeriod is the CPU quota period, in microseconds.
const cfsPeriod = 100000

func detectCgroups() (*cgroupLayout, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseCgroupLayout(f, func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// parseCgroupLayout reads the cgroup mounts of a mountinfo file; exists
// tells whether a file exists (cgroup.controllers marks a v2 mount).
func parseCgroupLayout(r io.Reader, exists func(string) bool) (*cgroupLayout, error) {
	infos, err := mountinfo.GetMountsFromReader(r, mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	l := &cgroupLayout{v1: map[string]string{}}
	for _, m := range infos {
		l.mounts = append(l.mounts, m.Mountpoint)
		if m.FSType == "cgroup2" {
			if m.Mountpoint == "/sys/fs/cgroup" && exists(filepath.Join(m.Mountpoint, "cgroup.controllers")) {
				l.unified, l.v2Root = true, m.Mountpoint
			}
			continue
		}
		for _, opt := range strings.Split(m.VFSOptions, ",") {
			if !v1MountOptions[opt] && !strings.HasPrefix(opt, "release_agent=") {
				l.v1[opt] = m.Mountpoint
			}
		}
	}
	if !l.unified {
		for _, c := range podControllers {
			if l.v1[c] == "" {
				return nil, fmt.Errorf("no cgroup v1 %s hierarchy mounted and no cgroup v2 at /sys/fs/cgroup: mount the cgroup controllers", c)
			}
		}
	}
	return l, nil
}

// dirs are the directories of cgroup path (like /fargo/pod-x) in the
// hierarchies the runtime manages itself.
func (l *cgroupLayout) dirs(path string) []string {
	if l.unified {
		return []string{filepath.Join(l.v2Root, path)}
	}
	seen := map[string]bool{}
	var dirs []string
	for _, c := range podControllers {
		d := filepath.Join(l.v1[c], path)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// createPod makes the pod's cgroup with its CPU quota and memory limit.
func (l *cgroupLayout) createPod(path string, milliCPU, memoryBytes int64) error {
	if l.unified {
		return l.createPodV2(path, milliCPU, memoryBytes)
	}
	for _, d := range l.dirs(path) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create pod cgroup: %w", err)
		}
	}
	cpu := filepath.Join(l.v1["cpu"], path)
	if milliCPU > 0 {
		if err := writeCgroupFiles(cpu, [][2]string{
			{"cpu.cfs_period_us", strconv.Itoa(cfsPeriod)},
			{"cpu.cfs_quota_us", strconv.FormatInt(milliCPU*cfsPeriod/1000, 10)},
			{"cpu.shares", strconv.FormatInt(cpuShares(milliCPU), 10)},
		}); err != nil {
			return err
		}
	}
	if memoryBytes > 0 {
		mem := filepath.Join(l.v1["memory"], path)
		if err := writeCgroupFiles(mem, [][2]string{{"memory.limit_in_bytes", strconv.FormatInt(memoryBytes, 10)}}); err != nil {
			return err
		}
		// No swap beyond the limit, where swap accounting exists.
		_ = writeCgroupFiles(mem, [][2]string{{"memory.memsw.limit_in_bytes", strconv.FormatInt(memoryBytes, 10)}})
	}
	return nil
}

func (l *cgroupLayout) createPodV2(path string, milliCPU, memoryBytes int64) error {
	// Controllers must be enabled in every ancestor's subtree_control for
	// the pod's files (cpu.max, memory.max) to exist.
	dir := l.v2Root
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		enableControllers(dir)
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create pod cgroup: %w", err)
		}
	}
	enableControllers(dir)
	var files [][2]string
	if milliCPU > 0 {
		files = append(files, [2]string{"cpu.max", fmt.Sprintf("%d %d", milliCPU*cfsPeriod/1000, cfsPeriod)})
	}
	if memoryBytes > 0 {
		files = append(files, [2]string{"memory.max", strconv.FormatInt(memoryBytes, 10)})
	}
	if err := writeCgroupFiles(dir, files); err != nil {
		return err
	}
	if memoryBytes > 0 {
		_ = writeCgroupFiles(dir, [][2]string{{"memory.swap.max", "0"}})
	}
	return nil
}

// enableControllers turns on cpu, memory and pids for dir's children, each
// alone so that one the kernel lacks does not stop the others.
func enableControllers(dir string) {
	for _, c := range []string{"cpu", "memory", "pids"} {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0)
	}
}

// cpuShares is the kubelet's conversion of millicores to cpu.shares.
func cpuShares(milliCPU int64) int64 {
	return max(2, milliCPU*1024/1000)
}

func writeCgroupFiles(dir string, files [][2]string) error {
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0); err != nil {
			return fmt.Errorf("set cgroup %s/%s to %s: %w", dir, f[0], f[1], err)
		}
	}
	return nil
}

// addProcess moves pid into cgroup path (made if missing).
func (l *cgroupLayout) addProcess(path string, pid int) error {
	for _, d := range l.dirs(path) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("move process %d into cgroup %s: %w", pid, d, err)
		}
	}
	return nil
}

// oomKills returns how many processes the OOM killer killed in cgroup
// path and below, or -1 when the cgroup is gone.
func (l *cgroupLayout) oomKills(path string) int64 {
	file := filepath.Join(l.v2Root, path, "memory.events")
	if !l.unified {
		file = filepath.Join(l.v1["memory"], path, "memory.oom_control")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// remove kills any process left in cgroup path and removes its directory
// and every child directory, in every hierarchy.
func (l *cgroupLayout) remove(path string) error {
	var errs []error
	for _, m := range l.mounts {
		dir := filepath.Join(m, path)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		errs = append(errs, removeCgroupTree(dir))
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes dir's cgroup subtree, children first. rmdir
// fails with EBUSY while a dying process is still in the cgroup, so it
// kills what is left and retries for a few seconds.
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		killCgroupProcs(dir)
		time.Sleep(20 * time.Millisecond)
	}
}

func killCgroupProcs(dir string) {
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}
