package harness

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/moby/sys/mountinfo"

	"github.com/fargo-dev/fargo/internal/sandbox/oci"
)

// Sweep removes what a killed host agent under dataDir left running:
// the sandboxes of its pods (processes, cgroups, mounts), their logs,
// and every mount under dataDir, so the test's directory can go. Tests
// kill agents on purpose (a crash, the end of a test); a real host's
// restarted agent does this itself for pods deleted meanwhile.
func Sweep(t testing.TB, dataDir string) {
	t.Helper()
	for _, dir := range []string{dataDir, filepath.Join(dataDir, "agent")} {
		sweepSandboxes(t, filepath.Join(dir, "sandboxes"))
	}
	unmountUnder(t, dataDir)
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
