package oci

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// openPTY opens a new pseudo-terminal in raw mode. The master is
// non-blocking, so the Go runtime's poller serves it and Close ends a
// pending Read (a blocking master would keep a reader goroutine forever);
// the slave is for the runtime's exec process.
func openPTY() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open a terminal (/dev/ptmx): %w", err)
	}
	sfd, err := openSlave(mfd)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("open a terminal: %w", err)
	}
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), "pty-slave"), nil
}

// openSlave unlocks the master's slave, opens it and makes it raw: the
// runtime puts it in raw mode itself, but input that arrives before it
// does must not be echoed by this outer terminal.
func openSlave(mfd int) (int, error) {
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return -1, err
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		return -1, err
	}
	sfd, err := unix.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	t, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err == nil {
		makeRaw(t)
		err = unix.IoctlSetTermios(sfd, unix.TCSETS, t)
	}
	if err != nil {
		unix.Close(sfd)
		return -1, err
	}
	return sfd, nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
}

// setWinsize sets a terminal's size through its master; the kernel sends
// SIGWINCH to the terminal's foreground process group (the runtime's
// exec, which resizes the container's own terminal from it).
func setWinsize(master *os.File, size sandbox.TerminalSize) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: size.Height, Col: size.Width})
	})
	return errors.Join(err, ierr)
}

// applyResizes applies each size from sizes through apply until stop is
// closed; the returned wait waits for that.
func applyResizes(sizes <-chan sandbox.TerminalSize, stop <-chan struct{}, apply func(sandbox.TerminalSize) error) (wait func()) {
	var wg sync.WaitGroup
	if sizes == nil {
		return wg.Wait
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case size, ok := <-sizes:
				if !ok {
					return
				}
				// A failed resize leaves the old size: not worth ending
				// the session for.
				_ = apply(size)
			}
		}
	})
	return wg.Wait
}
