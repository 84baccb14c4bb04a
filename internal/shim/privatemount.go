package shim

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// StartWithout starts cmd in a new mount namespace (slave to this
// process's, so nothing done there reaches the host) in which each of
// unmount is unmounted (missing ones are skipped); with nothing to
// unmount it is cmd.Start. It is how crun runs on a cgroup v1 host that
// also mounts cgroup2 at /sys/fs/cgroup/unified: crun takes that mount
// for a v2 host.
//
// The namespace is made on an OS thread of this process, not by a
// wrapper program: a wrapper's exec cost each crun call a few
// milliseconds of CPU, a thread costs almost nothing.
func StartWithout(cmd *exec.Cmd, unmount []string) error {
	if len(unmount) == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		// unshare moves the calling thread only, and a child inherits the
		// namespaces of the thread that forks it. The thread is never
		// unlocked: unsharing the mount namespace also unshared its
		// working directory and root from the other threads', so it must
		// run no other goroutine, and it ends with this one. It goes back
		// to the process's namespace first all the same: if it is the
		// main thread, which cannot end, /proc/self shows its namespace.
		runtime.LockOSThread()
		errc <- startInPrivateMounts(cmd, unmount)
	}()
	return <-errc
}

func startInPrivateMounts(cmd *exec.Cmd, unmount []string) error {
	restore, err := ThreadNamespaces(unix.CLONE_NEWNS)
	if err != nil {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return errors.Join(fmt.Errorf("unshare mount namespace for %s: %w (needs CAP_SYS_ADMIN)", cmd.Path, err), restore())
	}
	err = privateStart(cmd, unmount)
	return errors.Join(err, restore())
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

// namespaceFiles are the /proc names of the namespaces ThreadNamespaces
// saves, by clone flag.
var namespaceFiles = map[int]string{unix.CLONE_NEWNS: "mnt", unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts"}

// ThreadNamespaces saves the calling thread's namespaces of the kinds in
// flags (CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS), for a thread about to
// unshare them; restore moves it back into them. The caller holds the
// thread (runtime.LockOSThread) throughout.
func ThreadNamespaces(flags int) (restore func() error, err error) {
	var saved []int
	var kinds []int
	closeAll := func() {
		for _, fd := range saved {
			unix.Close(fd)
		}
	}
	for flag, name := range namespaceFiles {
		if flags&flag == 0 {
			continue
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/thread-self/ns/%s", name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("save the thread's %s namespace: %w", name, err)
		}
		saved, kinds = append(saved, fd), append(kinds, flag)
	}
	return func() error {
		defer closeAll()
		var errs []error
		for i, fd := range saved {
			if err := unix.Setns(fd, kinds[i]); err != nil {
				errs = append(errs, fmt.Errorf("return to the process's %s namespace: %w", namespaceFiles[kinds[i]], err))
			}
		}
		return errors.Join(errs...)
	}, nil
}
