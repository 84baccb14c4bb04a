package shim

import (
	"fmt"
	"os/exec"

	"golang.org/x/sys/unix"
)

// StartWithout starts cmd in a new mount namespace (slave to this
// process's, so nothing done there reaches the host) in which each of
// unmount is unmounted (missing ones are skipped); with nothing to
// unmount it is cmd.Start. It is how crun runs on a cgroup v1 host that
// also mounts cgroup2 at /sys/fs/cgroup/unified: crun takes that mount
// for a v2 host.
//
// The namespace is made on an OS thread of this process
// (InNewNamespaces), not by a wrapper program: a wrapper's exec cost each
// crun call a few milliseconds of CPU.
func StartWithout(cmd *exec.Cmd, unmount []string) error {
	if len(unmount) == 0 {
		return cmd.Start()
	}
	return InNewNamespaces(unix.CLONE_NEWNS, func() error { return privateStart(cmd, unmount) })
}

func privateStart(cmd *exec.Cmd, unmount []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make mounts slave for %s: %w", cmd.Path, err)
	}
	for _, target := range unmount {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmount %s for %s: %w", target, cmd.Path, err)
		}
	}
	return cmd.Start()
}

// RunWithout is StartWithout, then cmd.Wait.
func RunWithout(cmd *exec.Cmd, unmount []string) error {
	if err := StartWithout(cmd, unmount); err != nil {
		return err
	}
	return cmd.Wait()
}
