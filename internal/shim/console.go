package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ConsoleSocket is where an OCI runtime started with --console-socket
// sends the master of the terminal it made for a container's process
// (process.terminal, or exec --tty). It lives in a fresh directory under
// the system's temporary dir: the path must fit a sockaddr and the
// runtime dials it by name.
type ConsoleSocket struct {
	dir string
	fd  int
}

// NewConsoleSocket listens on a new console socket.
func NewConsoleSocket() (*ConsoleSocket, error) {
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
	return &ConsoleSocket{dir: dir, fd: fd}, nil
}

// Path is the socket's path, for the runtime's --console-socket.
func (c *ConsoleSocket) Path() string { return filepath.Join(c.dir, "console.sock") }

// Receive takes the terminal master the runtime sends, waiting for its
// connection until ctx ends. A connection already made is taken even
// then: after "run --detach" returned, or once a foreground exec ended,
// the runtime's connection and its message wait in the socket.
func (c *ConsoleSocket) Receive(ctx context.Context) (*os.File, error) {
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}, 20)
		if n > 0 {
			break
		}
		if err != nil && err != unix.EINTR {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		if ctx.Err() != nil {
			break // Accept4 says there is no connection
		}
	}
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

// Close stops listening and removes the socket.
func (c *ConsoleSocket) Close() {
	unix.Close(c.fd)
	os.RemoveAll(c.dir)
}
