package shim

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// errNotOurChild explains an exit code of UnknownExitCode in the shim's
// stderr: a runtime kept the container's process from the shim.
var errNotOurChild = errors.New("container process is not a child of the shim")

// UnknownExitCode is reported when a process ended but its status could
// not be read (it was not the shim's child).
const UnknownExitCode = 255

// waitContainer reaps children until pid ends and returns its status. Other
// children (orphans reparented to the subreaper) are reaped on the way.
func waitContainer(pid int) ExitStatus {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			// ECHILD: the runtime kept the process as someone else's child.
			fmt.Fprintf(os.Stderr, "shim: wait: %v; %v, polling it\n", err, errNotOurChild)
			return pollUntilGone(pid)
		case got == pid:
			return statusOf(ws)
		}
	}
}

// statusOf turns a wait status into an ExitStatus.
func statusOf(ws unix.WaitStatus) ExitStatus {
	st := ExitStatus{FinishedAt: time.Now().UTC()}
	switch {
	case ws.Signaled():
		st.ExitCode = 128 + int(ws.Signal())
		st.Signal = unix.SignalName(ws.Signal())
	case ws.Exited():
		st.ExitCode = ws.ExitStatus()
	default:
		st.ExitCode = UnknownExitCode
	}
	return st
}

// pollUntilGone waits for a process that is not our child to end; its
// exit code cannot be known.
func pollUntilGone(pid int) ExitStatus {
	for unix.Kill(pid, 0) == nil {
		time.Sleep(100 * time.Millisecond)
	}
	return ExitStatus{ExitCode: UnknownExitCode, FinishedAt: time.Now().UTC()}
}

// reapOrphans reaps children that already ended, without waiting.
func reapOrphans() {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}
