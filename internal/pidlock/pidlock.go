// Package pidlock is a directory's lock held by the process that runs on
// it: an flock'd file holding that process's pid. A second server on the
// same data dir is refused by it, and `fargo down` finds whom to stop.
// The kernel drops the lock when the process dies, however it dies, so a
// stale file never looks held.
package pidlock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrHeld is returned by Acquire when another process holds the lock.
var ErrHeld = errors.New("lock held by another process")

// Lock is a held lock; Release gives it up.
type Lock struct{ f *os.File }

// Acquire takes the lock at path and writes this process's pid into it.
// When another process holds it, the error wraps ErrHeld and names its
// pid.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (pid %d)", ErrHeld, readPid(path))
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up; the file stays for the next holder.
func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// Holder is the pid of the process holding the lock at path, or 0 when
// none does (or there is no such file).
func Holder(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0
	}
	if pid := readPid(path); pid > 0 {
		return pid
	}
	return -1 // held, by a process that has not written its pid yet
}

// Stop asks the holder of the lock at path to stop (SIGTERM) and waits
// until the lock is free; after timeout it kills the holder (SIGKILL) and
// waits once more. It returns the pid it stopped, 0 when none held the
// lock.
func Stop(path string, timeout time.Duration) (int, error) {
	pid := Holder(path)
	if pid <= 0 {
		return 0, nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return pid, fmt.Errorf("stopping pid %d: %w", pid, err)
	}
	if waitFree(path, timeout) {
		return pid, nil
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if waitFree(path, 10*time.Second) {
		return pid, nil
	}
	return pid, fmt.Errorf("pid %d still holds %s after SIGKILL", pid, path)
}

func waitFree(path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for Holder(path) != 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
