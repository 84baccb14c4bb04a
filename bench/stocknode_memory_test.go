package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// hostMemory is one reading, in KiB, of the processes the side-by-side
// pods cost memory in. Daemons are read as RSS (their growth is what the
// pods added), per-pod processes as Pss (shared pages split among them),
// as BenchmarkPodStart reads fargo's.
type hostMemory struct {
	// fargoUp is the `fargo up` process: control plane and fargo's host
	// agent in one; either side's pods grow its control-plane part.
	fargoUp int64
	// stockDaemons are the stock node's kubelet and containerd.
	stockDaemons int64
	// fargoSandboxes are the fargo-shim processes (container shims and
	// pod pause holders); stockSandboxes the containerd shims and pause
	// processes of the stock node.
	fargoSandboxes, stockSandboxes int64
}

func readHostMemory(srv *harness.Server, node *stockNode) hostMemory {
	fargoPSS, _, _ := sandboxMemoryKiB()
	return hostMemory{
		fargoUp:        rssKiB(srv.Pid()),
		stockDaemons:   rssKiB(node.kubelet.Process.Pid) + rssKiB(node.containerd.Process.Pid),
		fargoSandboxes: fargoPSS,
		stockSandboxes: node.sandboxPSSKiB(),
	}
}

// memoryDelta is what one side's pods added to the host, in KiB.
type memoryDelta struct {
	fargo     bool  // fargo's side
	fargoUp   int64 // fargo up's growth: the control plane's share, and on fargo's side its host agent's
	daemons   int64 // the stock node's kubelet and containerd (none on fargo's side)
	sandboxes int64 // the side's per-pod processes
}

func (d memoryDelta) fargoUpIfFargo() int64 {
	if d.fargo {
		return d.fargoUp
	}
	return 0
}

// since is what side's pods added between before and m.
func (m hostMemory) since(before hostMemory, side string) memoryDelta {
	d := memoryDelta{fargo: side == "fargo", fargoUp: m.fargoUp - before.fargoUp}
	if !d.fargo {
		d.daemons = m.stockDaemons - before.stockDaemons
		d.sandboxes = m.stockSandboxes - before.stockSandboxes
	} else {
		d.sandboxes = m.fargoSandboxes - before.fargoSandboxes
	}
	return d
}

// perPodMiB is what each pod cost the host. For fargo what
// BenchmarkPodStart reports as per-pod-MiB: fargo up's growth (host agent
// and the control plane's share) and the shims. For the stock node its own
// processes only: kubelet's and containerd's growth, shims and pause. The
// control plane's share of the stock pods cannot be read: fargo up, read
// just after fargo's pods were deleted, gives memory back meanwhile. The
// ratio therefore leans in the stock node's favour.
func (d memoryDelta) perPodMiB(n int) float64 {
	return float64(d.daemons+d.sandboxes+d.fargoUpIfFargo()) / float64(n) / 1024
}

// sandboxPerPodMiB is the per-pod processes alone, per pod.
func (d memoryDelta) sandboxPerPodMiB(n int) float64 { return float64(d.sandboxes) / float64(n) / 1024 }

// fargoUpPerPodMiB is fargo up's growth per pod.
func (d memoryDelta) fargoUpPerPodMiB(n int) float64 { return float64(d.fargoUp) / float64(n) / 1024 }

// daemonsPerPodMiB is the stock kubelet's and containerd's growth per pod.
func (d memoryDelta) daemonsPerPodMiB(n int) float64 { return float64(d.daemons) / float64(n) / 1024 }

// sandboxPSSKiB sums the Pss of this node's containerd shims and of the
// pause processes they run (a pod's sandbox); the workload is not counted,
// as on fargo's side.
func (n *stockNode) sandboxPSSKiB() int64 {
	shims := map[int]bool{}
	for _, pid := range n.shimPids() {
		shims[pid] = true
	}
	var pss int64
	for _, p := range hostProcs() {
		if shims[p.pid] || (p.comm == "pause" && shims[p.ppid]) {
			pss += statusField(fmt.Sprintf("/proc/%d/smaps_rollup", p.pid), "Pss:")
		}
	}
	return pss
}

// containerdVersion is what `containerd --version` says, e.g. 1.6.20~ds1.
func containerdVersion(bins stockBinaries) string {
	out, err := exec.Command(bins.containerd, "--version").Output()
	if f := strings.Fields(string(out)); err == nil && len(f) >= 3 {
		return f[2]
	}
	return "(unknown)"
}

// logErrors counts the error lines in the kubelet's and containerd's logs:
// a stock node that retried its way through the run would be slower for
// reasons a user's would not.
func (n *stockNode) logErrors() string {
	count := func(path string, isError func(line string) bool) int {
		data, _ := os.ReadFile(path)
		c := 0
		for _, line := range strings.Split(string(data), "\n") {
			if isError(line) {
				c++
			}
		}
		return c
	}
	kubelet := count(n.kubeletPath, func(l string) bool { return strings.HasPrefix(l, "E") })
	containerd := count(n.ctrdPath, func(l string) bool { return strings.Contains(l, "level=error") })
	return fmt.Sprintf("kubelet logged %d error lines, containerd %d", kubelet, containerd)
}
