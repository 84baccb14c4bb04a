package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// consoleSocket is where an OCI runtime started with --console-socket
// sends the master of the terminal it made for a container
// (process.terminal). It lives in a fresh directory under the system's
// temporary dir: the path must fit a sockaddr and the runtime dials it
// by name.
type consoleSocket struct {
	dir string
	fd  int
}

func newConsoleSocket() (*consoleSocket, error) {
	dir, err := os.MkdirTemp("", "fargo-console-")
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		if err = unix.Bind(fd, &unix.SockaddrUnix{Name: filepath.Join(dir, "console.sock")}); err == nil {
			err = unix.Listen(fd, 1)
		}
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &consoleSocket{dir: dir, fd: fd}, nil
}

func (c *consoleSocket) path() string { return filepath.Join(c.dir, "console.sock") }

// receive takes the terminal master the runtime sent. It is called after
// "run --detach" returned, so the runtime's connection and its message
// already wait in the socket.
func (c *consoleSocket) receive() (*os.File, error) {
	conn, _, err := unix.Accept4(c.fd, unix.SOCK_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("the runtime sent no terminal to the console socket (%w): is process.terminal set in the bundle's config.json?", err)
	}
	defer unix.Close(conn)
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(conn, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive the container's terminal: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("receive the container's terminal: the runtime sent no file descriptor")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("receive the container's terminal: want exactly one file descriptor")
	}
	// Non-blocking, so that the runtime poller serves it and Close ends
	// a pending read.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("receive the container's terminal: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "terminal"), nil
}

func (c *consoleSocket) close() {
	unix.Close(c.fd)
	os.RemoveAll(c.dir)
}
