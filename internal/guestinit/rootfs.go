package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// makeRootfs mounts container b's root: an overlay over its image with
// its writable layer on the scratch disk, and inside it /sys,
// /dev, the pod files, the volumes and the termination message file.
func (s *server) makeRootfs(b vmproto.Start, dir string) (string, error) {
	image, err := s.imageRoot(b.ImageSerial)
	if err != nil {
		return "", err
	}
	upper := filepath.Join(scratchDir, "containers", b.ID)
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{upper + "/upper", upper + "/work", root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", image, upper, upper)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("mount the container's root: %w", err)
	}
	if err := s.mountInside(b, root, upper); err != nil {
		return root, err
	}
	if b.Security.ReadOnlyRootfs {
		if err := unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return root, fmt.Errorf("read-only root: %w", err)
		}
	}
	return root, nil
}

func (s *server) mountInside(b vmproto.Start, root, upper string) error {
	// /proc is mounted by the container's first process, from inside its
	// PID namespace (entry.go), so that it shows the container's processes.
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o555); err != nil {
		return err
	}
	if err := mountAt(root, "/sys", "sysfs", "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	if err := makeDev(root); err != nil {
		return err
	}
	s.mu.Lock()
	var files map[string][]byte
	if s.setup != nil {
		files = s.setup.Files
	}
	s.mu.Unlock()
	for name := range files {
		if err := bindAt(root, podFilePath(name), name, false); err != nil {
			return err
		}
	}
	for _, m := range b.Mounts {
		src := podFilePath(m.PodFile)
		if m.Volume != "" {
			v, err := s.volumePath(m.Volume)
			if err != nil {
				return err
			}
			src = filepath.Join(v, m.SubPath)
			if err := makeSubPath(v, src); err != nil {
				return fmt.Errorf("subPath %s: %w", m.SubPath, err)
			}
		}
		if err := bindAt(root, src, m.Destination, m.ReadOnly); err != nil {
			return err
		}
	}
	if b.TerminationMessagePath != "" {
		tm := filepath.Join(upper, "termination-log")
		if err := os.WriteFile(tm, nil, 0o666); err != nil {
			return err
		}
		_ = os.Chmod(tm, 0o666)
		if err := bindAt(root, tm, b.TerminationMessagePath, false); err != nil {
			return err
		}
	}
	return nil
}

// makeDev gives the container a small /dev: the usual nodes, its ptys
// and the pod's shared /dev/shm.
func makeDev(root string) error {
	if err := mountAt(root, "/dev", "tmpfs", "tmpfs", unix.MS_NOSUID, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, n := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(root, "dev", n.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		_ = os.Chmod(p, 0o666)
	}
	if err := bindAt(root, "/dev/pts", "/dev/pts", false); err != nil {
		return err
	}
	if err := bindAt(root, shmDir, "/dev/shm", false); err != nil {
		return err
	}
	for link, target := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		_ = os.Symlink(target, filepath.Join(root, "dev", link))
	}
	return nil
}

// mountAt mounts a filesystem at path inside root.
func mountAt(root, path, src, fs string, flags uintptr, data string) error {
	dst := filepath.Join(root, path)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, fs, flags, data); err != nil {
		return fmt.Errorf("mount %s: %w", path, err)
	}
	return nil
}

// bindAt bind-mounts src at path inside root, making a file or directory
// to mount on as src is one.
func bindAt(root, src, path string, readOnly bool) error {
	dst := filepath.Join(root, path)
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("mount source for %s: %w", path, err)
	}
	if info.IsDir() {
		err = os.MkdirAll(dst, 0o755)
	} else {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(dst, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
				f.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mount point %s: %w", path, err)
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", path, err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", path, err)
		}
	}
	return nil
}

// unmountUnder unmounts everything at or below dir, deepest first.
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var points []string
	for _, line := range splitLines(string(b)) {
		f := splitFields(line)
		if len(f) > 4 && (f[4] == dir || hasPathPrefix(f[4], dir)) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// makeSubPath creates a missing subPath of volume dir as a directory with
// the volume's mode, setgid and sticky bits included, as a kubelet does,
// so a container uses it as it could the volume (in a setgid volume it
// takes the fsGroup too).
func makeSubPath(dir, src string) error {
	if _, err := os.Lstat(src); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	return unix.Chmod(src, st.Mode&0o7777)
}
