package podvolume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// setUpEmptyDir makes an emptyDir: a world-writable directory (as on a
// kubelet, so containers running as any user can write), or for medium
// Memory a tmpfs bounded by sizeLimit and the pod's memory. With fsGroup the
// directory belongs to that group, setgid, so new files inherit it.
func setUpEmptyDir(pod *corev1.Pod, src *corev1.EmptyDirVolumeSource, dir string, sz size) error {
	mode := os.FileMode(0o777)
	switch src.Medium {
	case corev1.StorageMediumDefault:
		if err := os.MkdirAll(dir, mode); err != nil {
			return err
		}
	case corev1.StorageMediumMemory:
		// A tmpfs's root is 1777 unless told otherwise, and a kubelet
		// leaves it so: files stay their owners'.
		mode |= os.ModeSticky
		if err := ensureTmpfs(dir, tmpfsSize(src, sz), mode); err != nil {
			return err
		}
	default:
		return fmt.Errorf("emptyDir medium %q is not supported on fargo hosts: use \"\" (disk) or \"Memory\"", src.Medium)
	}
	if g := fsGroup(pod); g != nil {
		if err := os.Lchown(dir, -1, int(*g)); err != nil {
			return err
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(dir, mode)
}

// tmpfsSize is the smaller of sizeLimit and the pod's memory, as a kubelet
// sizes memory-backed volumes; a tmpfs page counts against the host, so it
// must not outgrow what the pod paid for.
func tmpfsSize(src *corev1.EmptyDirVolumeSource, sz size) int64 {
	limit := sz.memoryBytes
	if src.SizeLimit != nil && src.SizeLimit.Value() > 0 && (limit <= 0 || src.SizeLimit.Value() < limit) {
		limit = src.SizeLimit.Value()
	}
	return limit
}

// ensureTmpfs mounts a tmpfs on dir unless one is there already. A size of
// 0 leaves the kernel's default (half the host's memory).
func ensureTmpfs(dir string, sizeBytes int64, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mounted, err := mountinfo.Mounted(dir)
	if err != nil || mounted {
		return err
	}
	opts := fmt.Sprintf("mode=%o", unixMode(mode))
	if sizeBytes > 0 {
		opts += ",size=" + strconv.FormatInt(sizeBytes, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w (the agent needs root with CAP_SYS_ADMIN)", dir, err)
	}
	return nil
}

// removePodDir unmounts every mount below podDir, deepest first, then
// removes it. It refuses to remove while something stays mounted, since
// removing would reach into the mounted filesystem.
func removePodDir(podDir string) error {
	if _, err := os.Lstat(podDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	points, err := mountPointsUnder(podDir)
	if err != nil {
		return err
	}
	for _, p := range points {
		if err := unix.Unmount(p, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			// Busy (a container still holds it): detach it from the
			// tree now; the kernel frees it when the last user goes.
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
	if left, err := mountPointsUnder(podDir); err != nil || len(left) > 0 {
		return errors.Join(err, fmt.Errorf("still mounted under %s: %s; unmount them and call Teardown again", podDir, strings.Join(left, ", ")))
	}
	return os.RemoveAll(podDir)
}

// mountPointsUnder lists the mount points at or below dir, deepest
// first: children before their parents. A path mounted twice stays listed
// twice, one unmount per layer.
func mountPointsUnder(dir string) ([]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(resolved(dir)))
	if err != nil {
		return nil, err
	}
	points := make([]string, 0, len(infos))
	for _, info := range infos {
		points = append(points, info.Mountpoint)
	}
	slices.SortStableFunc(points, func(a, b string) int { return len(b) - len(a) })
	return points, nil
}

// resolved is dir with symlinks resolved, as mountinfo shows mount points.
func resolved(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// unixMode is mode as chmod(2) and tmpfs's mode= write it, with the
// setuid, setgid and sticky bits.
func unixMode(mode os.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&os.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if mode&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}
