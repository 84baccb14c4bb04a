package shim

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// InNewNamespaces runs fn on an OS thread of this process that has
// unshared the namespaces in flags (CLONE_NEWNS, CLONE_NEWIPC,
// CLONE_NEWUTS), and moves the thread back into the process's namespaces
// afterwards. unshare moves the calling thread only, and a child forked
// in fn inherits that thread's namespaces; this costs a thread where a
// helper program would cost an exec.
//
// The way back matters even for a thread that is then thrown away: the
// main thread cannot end, and /proc/self shows its namespaces (and
// os.Hostname its UTS one). A thread that unshared its mount namespace
// also unshared its working directory and root from the other threads',
// so it stays locked and ends with fn's goroutine; so does one that could
// not go back.
func InNewNamespaces(flags int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err, clean := inNewNamespaces(flags, fn)
		if clean && flags&unix.CLONE_NEWNS == 0 {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// inNewNamespaces is InNewNamespaces on the locked thread; clean says the
// thread is back in the process's namespaces.
func inNewNamespaces(flags int, fn func() error) (err error, clean bool) {
	restore, err := saveThreadNamespaces(flags)
	if err != nil {
		return err, true
	}
	if err := unix.Unshare(flags); err != nil {
		rerr := restore()
		return errors.Join(fmt.Errorf("unshare: %w (needs CAP_SYS_ADMIN)", err), rerr), rerr == nil
	}
	err = fn()
	rerr := restore()
	return errors.Join(err, rerr), rerr == nil
}

// namespaceFiles are the /proc names of the namespaces
// saveThreadNamespaces saves, by clone flag.
var namespaceFiles = map[int]string{unix.CLONE_NEWNS: "mnt", unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts"}

// saveThreadNamespaces saves the calling (locked) thread's namespaces of
// the kinds in flags; restore moves it back into them.
func saveThreadNamespaces(flags int) (restore func() error, err error) {
	var saved, kinds []int
	closeAll := func() {
		for _, fd := range saved {
			unix.Close(fd)
		}
	}
	for flag, name := range namespaceFiles {
		if flags&flag == 0 {
			continue
		}
		fd, err := unix.Open("/proc/thread-self/ns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
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
