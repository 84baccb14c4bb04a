package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// kubeletSysctls are the kernel settings the kubelet sets at start
// (setupKernelTunables in pkg/kubelet/cm); teardown puts them back.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// stockHostDirs are the host paths the stock node's programs hard-code:
// the kubelet's device-plugin directory, containerd's shim sockets,
// CNI's result cache. Teardown removes those that did not exist before.
var stockHostDirs = []string{"/var/lib/kubelet", "/run/containerd", "/var/lib/cni"}

// hostState is what teardown restores.
type hostState struct {
	sysctls map[string]string
	existed map[string]bool
}

func recordHostState() hostState {
	h := hostState{sysctls: map[string]string{}, existed: map[string]bool{}}
	for _, s := range kubeletSysctls {
		if v, err := os.ReadFile("/proc/sys/" + s); err == nil {
			h.sysctls[s] = strings.TrimSpace(string(v))
		}
	}
	for _, d := range stockHostDirs {
		_, err := os.Stat(d)
		h.existed[d] = err == nil
	}
	return h
}

// cgroupMounts are the mount points of this machine's cgroup hierarchies,
// v1 ones first (the kubelet's cgroupfs driver uses those).
func cgroupMounts(v1Only bool) []string {
	mounts, _ := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	var dirs []string
	for _, m := range mounts {
		if m.FSType == "cgroup" || !v1Only {
			dirs = append(dirs, m.Mountpoint)
		}
	}
	return dirs
}

// makeCgroupRoot creates the kubelet's cgroupRoot in every v1 hierarchy:
// the kubelet requires it to exist. A new cpuset cgroup starts with no
// CPUs or memory nodes; it gets its parent's.
func (n *stockNode) makeCgroupRoot(b *testing.B) {
	for _, mp := range cgroupMounts(true) {
		dir := filepath.Join(mp, n.cgroupRoot)
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatalf("creating the stock node's cgroup: %v", err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(mp, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
					b.Fatalf("%s: %v", filepath.Join(dir, f), err)
				}
			}
		}
	}
}

// teardown deletes the stock pods (so that the kubelet stops their
// sandboxes as it would), stops the kubelet and containerd, and removes
// whatever is left: shims, container processes, mounts, network
// namespaces, the bridge, cgroups, host paths; and restores the sysctls.
func (n *stockNode) teardown(b *testing.B, cs kubernetes.Interface) {
	if daemonRunning(n.kubelet) {
		n.deletePods(b, cs)
	}
	stopDaemon(n.kubelet)
	stopDaemon(n.containerd)
	for _, pid := range n.shimPids() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	n.killCgroupProcs()
	var errs []error
	// Pod network namespaces are mounts under the node's directory too.
	errs = append(errs, unmountUnder(n.dir))
	errs = append(errs, n.deleteBridge(), n.removeCgroups(), n.restoreHost())
	if err := errors.Join(errs...); err != nil {
		b.Errorf("tearing down the stock node: %v", err)
	}
}

// deletePods deletes the stock namespace's pods and waits, at most two
// minutes, for the kubelet to have finished them and their sandboxes.
func (n *stockNode) deletePods(b *testing.B, cs kubernetes.Interface) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods := cs.CoreV1().Pods(stockNamespace)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](1)}, metav1.ListOptions{}); err != nil {
		b.Logf("deleting the stock pods: %v", err)
		return
	}
	for ctx.Err() == nil {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err == nil && len(list.Items) == 0 && len(n.shimPids()) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Logf("stock pods or shims still there after 2 minutes; killing them")
}

func daemonRunning(cmd *exec.Cmd) bool {
	return cmd != nil && cmd.Process != nil && cmd.ProcessState == nil && syscall.Kill(cmd.Process.Pid, 0) == nil
}

// stopDaemon sends SIGTERM, then SIGKILL after 30 s, and reaps it.
func stopDaemon(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// shimPids are the containerd-shim-runc-v2 processes of this node's
// containerd (a shim outlives its containerd by design).
func (n *stockNode) shimPids() []int {
	var pids []int
	for _, p := range hostProcs() {
		if p.comm == "containerd-shim" && strings.Contains(p.cmdline, n.sock) {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// killCgroupProcs kills every process in the node's cgroup tree: the
// containers of a shim that was killed.
func (n *stockNode) killCgroupProcs() {
	for _, mp := range cgroupMounts(false) {
		filepath.WalkDir(filepath.Join(mp, n.cgroupRoot), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return nil
		})
	}
}

// removeCgroups removes the node's cgroup tree from every hierarchy,
// deepest first, waiting briefly for killed processes to leave.
func (n *stockNode) removeCgroups() error {
	var errs []error
	for _, mp := range cgroupMounts(false) {
		var dirs []string
		filepath.WalkDir(filepath.Join(mp, n.cgroupRoot), func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			errs = append(errs, rmdirRetry(d))
		}
	}
	return errors.Join(errs...)
}

func rmdirRetry(dir string) error {
	var err error
	for range 50 {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("removing cgroup %s: %w", dir, err)
}

// unmountUnder detaches every mount under dir, deepest first: sandbox
// /dev/shm, container root filesystems, the kubelet's volume tmpfs.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}

// deleteBridge deletes the CNI bridge and any veth still on it.
func (n *stockNode) deleteBridge() error {
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return nil // never made: no pod started
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			netlink.LinkDel(l)
		}
	}
	if err := netlink.LinkDel(br); err != nil {
		return fmt.Errorf("deleting bridge %s: %w", n.bridge, err)
	}
	return nil
}

// restoreHost puts back the sysctls and removes the hard-coded host
// paths the node created, and its links in /var/log/containers.
func (n *stockNode) restoreHost() error {
	var errs []error
	for s, v := range n.host.sysctls {
		if err := os.WriteFile("/proc/sys/"+s, []byte(v), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s=%s: %w", s, v, err))
		}
	}
	for _, d := range stockHostDirs {
		if !n.host.existed[d] {
			errs = append(errs, os.RemoveAll(d))
		}
	}
	links, _ := os.ReadDir("/var/log/containers")
	for _, l := range links {
		p := filepath.Join("/var/log/containers", l.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, n.dir) {
			errs = append(errs, os.Remove(p))
		}
	}
	return errors.Join(errs...)
}

// hostProc is one process of this machine.
type hostProc struct {
	pid, ppid     int
	comm, cmdline string
}

// hostProcs lists this machine's processes.
func hostProcs() []hostProc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []hostProc
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// comm is in parentheses and may hold spaces; ppid follows state.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmdline, _ := os.ReadFile(d + "/cmdline")
		out = append(out, hostProc{pid: pid, ppid: ppid, comm: s[open+1 : end], cmdline: strings.ReplaceAll(string(cmdline), "\x00", " ")})
	}
	return out
}
