package shim

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// ExecWithout replaces the current process with argv, run in a new mount
// namespace (slave to the host's, so nothing done there reaches the host)
// in which each of unmount is unmounted (missing ones are skipped). It is
// how crun runs on a cgroup v1 host that also mounts cgroup2 at
// /sys/fs/cgroup/unified: crun takes that mount for a v2 host.
func ExecWithout(unmount []string, argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("wrap: no command given: pass it after --")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("wrap: %w", err)
	}
	// unshare affects the calling thread only; exec from that thread.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("wrap: unshare mount namespace: %w (needs CAP_SYS_ADMIN)", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("wrap: make mounts private: %w", err)
	}
	for _, target := range unmount {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("wrap: unmount %s: %w", target, err)
		}
	}
	return unix.Exec(path, argv, os.Environ())
}
