package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nsfsMagic is the statfs type of a file that is a bind-mounted namespace.
const nsfsMagic = 0x6e736673

// netnsPath is the file that names a pod's network namespace.
func (n *Network) netnsPath(podUID string) string {
	return filepath.Join(n.cfg.NetnsDir, n.cfg.NetnsPrefix+podUID)
}

// ensureNetns makes path name a network namespace, creating a fresh one
// unless path already is one (a repeated or resumed Attach). It reports
// whether it created one.
func (n *Network) ensureNetns(path string) (bool, error) {
	if isNetnsMount(path) {
		return false, nil
	}
	if err := n.prepareNetnsDir(); err != nil {
		return false, err
	}
	// An empty file left by a crash before the mount is reused as the mount point.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return false, fmt.Errorf("network: create netns file %s: %w", path, err)
	}
	f.Close()
	if err := mountNewNetns(path); err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}

func isNetnsMount(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == nsfsMagic
}

// mountNewNetns unshares a new network namespace on a locked thread and
// bind-mounts it on path, which keeps it alive after the thread leaves it.
func mountNewNetns(path string) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: open current network namespace: %w", err)
	}
	defer orig.Close()

	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: unshare network namespace (needs CAP_SYS_ADMIN): %w", err)
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	mountErr := unix.Mount(self, path, "none", unix.MS_BIND, "")
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the pod namespace: keep it locked so the
		// runtime discards it instead of running other goroutines there.
		return fmt.Errorf("network: return to host network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	if mountErr != nil {
		return fmt.Errorf("network: bind-mount new netns on %s: %w", path, mountErr)
	}
	return nil
}

// prepareNetnsDir creates NetnsDir and makes it a shared mount point, as
// iproute2 does, so namespace mounts made here propagate to other mount
// namespaces (sandbox runtimes) and unmounts propagate too.
func (n *Network) prepareNetnsDir() error {
	n.netnsDirMu.Lock()
	defer n.netnsDirMu.Unlock()
	if n.netnsDirReady {
		return nil
	}
	dir := n.cfg.NetnsDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("network: create netns directory %s: %w", dir, err)
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		// Not a mount point yet: bind it onto itself, then share it.
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("network: bind-mount %s onto itself: %w", dir, err)
		}
		err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("network: make %s a shared mount: %w", dir, err)
	}
	n.netnsDirReady = true
	return nil
}

// removeNetns unmounts and deletes a pod's netns file; missing is fine.
// The namespace itself lives on while a sandbox process still uses it.
func removeNetns(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("network: unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: remove netns file %s: %w", path, err)
	}
	return nil
}

// Attached returns the UIDs of pods that have a netns file, so an agent can
// detach pods it no longer knows about after a restart.
func (n *Network) Attached() ([]string, error) {
	entries, err := os.ReadDir(n.cfg.NetnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network: list %s: %w", n.cfg.NetnsDir, err)
	}
	var uids []string
	for _, e := range entries {
		if uid, ok := strings.CutPrefix(e.Name(), n.cfg.NetnsPrefix); ok && uid != "" {
			uids = append(uids, uid)
		}
	}
	return uids, nil
}

// inNetns runs fn on a thread moved into ns; for the few things that exist
// only per thread namespace, such as /proc/sys/net.
func inNetns(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: open current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: enter network namespace: %w", err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("network: return to original network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return fnErr
}
