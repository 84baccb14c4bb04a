package harness

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/moby/sys/mountinfo"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/sandbox/oci"
)

// sweep removes what a killed host agent under s.DataDir left: the
// sandboxes of its pods (processes, cgroups, mounts), their logs, its pod
// network in this namespace (bridge, veths, nftables table), and every
// mount under the data dir, so the test's directory can go. Tests kill
// agents on purpose (a crash, the end of a test); a real host's
// restarted agent does this itself for pods deleted meanwhile, and keeps
// its bridge.
func (s *Server) sweep(t testing.TB) {
	t.Helper()
	agentDir := s.DataDir
	if s.Args[0] == "up" {
		agentDir = filepath.Join(s.DataDir, "agent")
	}
	sweepSandboxes(t, filepath.Join(agentDir, "sandboxes"))
	s.sweepNetwork(t, filepath.Join(agentDir, "netns"))
	unmountUnder(t, s.DataDir)
}

// sweepNetwork tears down the host's pod network in this namespace, if
// it has one: its pods' netns files in netnsDir, veths, the bridge and
// the nftables table. Each is removed only if present.
func (s *Server) sweepNetwork(t testing.TB, netnsDir string) {
	t.Helper()
	if s.bridge == "" {
		return
	}
	cidr, err := netip.ParsePrefix(s.podCIDR)
	if err != nil {
		t.Errorf("sweeping bridge %s: pod CIDR %q: %v", s.bridge, s.podCIDR, err)
		return
	}
	n, err := network.New(network.Config{Bridge: s.bridge, PodCIDRs: []netip.Prefix{cidr}, NetnsDir: netnsDir})
	if err != nil {
		t.Errorf("sweeping bridge %s: %v", s.bridge, err)
		return
	}
	defer n.Close()
	if err := n.Teardown(context.Background()); err != nil {
		t.Errorf("sweeping bridge %s: %v", s.bridge, err)
	}
}

func sweepSandboxes(t testing.TB, root string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "pods")); err != nil {
		return
	}
	rt, err := oci.New(oci.Config{Root: root, ShimPath: filepath.Join(filepath.Dir(Binary(t)), "fargo-shim")})
	if err != nil {
		t.Errorf("sweeping %s: %v", root, err)
		return
	}
	ctx := context.Background()
	uids, _ := rt.Pods(ctx)
	for _, uid := range uids {
		if err := rt.RemovePod(ctx, uid); err != nil {
			t.Errorf("sweeping pod %s: %v", uid, err)
		}
		logs, _ := filepath.Glob("/var/log/pods/*_" + uid)
		for _, l := range logs {
			os.RemoveAll(l)
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(t testing.TB, dir string) {
	t.Helper()
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return
	}
	var points []string
	for _, info := range infos {
		points = append(points, info.Mountpoint)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			t.Errorf("unmounting %s: %v", p, err)
		}
	}
}
