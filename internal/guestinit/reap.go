package guestinit

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// As PID 1, fargo-init reaps every child and orphan. Processes it starts
// register their pid under procMu before the reaper can look them up,
// so an exit is never lost to a race between fork and register.
var (
	procMu  sync.Mutex
	waiters = map[int]chan unix.WaitStatus{}
)

// startProcess forks argv0 with attr and returns its pid and a channel
// that gets its wait status once.
func startProcess(argv0 string, argv []string, attr *syscall.ProcAttr) (int, <-chan unix.WaitStatus, error) {
	procMu.Lock()
	defer procMu.Unlock()
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	waiters[pid] = ch
	return pid, ch, nil
}

// reapLoop waits for every child on each SIGCHLD.
func reapLoop() {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD)
	for range sigs {
		reapAll()
	}
}

func reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		procMu.Lock()
		ch, ok := waiters[pid]
		delete(waiters, pid)
		procMu.Unlock()
		if ok {
			ch <- ws
		}
	}
}

// exitCode is a wait status as a container runtime reports it.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
