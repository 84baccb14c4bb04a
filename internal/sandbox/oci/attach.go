package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// attachHandshakeTimeout bounds the exchange of version lines with a shim.
const attachHandshakeTimeout = 10 * time.Second

// Attach connects s to the main process of the running attempt id
// through its shim's attach socket (the fargo-attach protocol, see
// internal/shim/attachproto.go), so it works the same for attempts an
// earlier agent started. The client gets what the container writes from
// now on, stdout and stderr apart (one stream with a terminal); its stdin
// goes to the container's when the container has stdin; its resizes to
// the container's terminal.
//
// It returns nil when the container exits, when the client's stdin ends
// (then, for a StdinOnce container, only after the container's output
// that follows: its stdin is closed and it usually exits), and ctx's
// error when ctx ends. As in ExecStream, the copy of s.Stdin ends when
// its Read returns.
func (r *Runtime) Attach(ctx context.Context, uid, id string, s sandbox.Streams) error {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return err
	}
	st, err := r.status(uid, id)
	if err != nil {
		return err
	}
	if st.State != sandbox.StateRunning {
		return fmt.Errorf("oci: attach to %s: the container is not running (%s)", id, st.State)
	}
	conn, err := dialAttach(filepath.Join(r.containerDir(uid, id), shim.AttachSocketName))
	if err != nil {
		return fmt.Errorf("oci: attach to %s: %w", id, err)
	}
	defer conn.Close()
	info, err := attachHandshake(conn, s.Stdin != nil)
	if err != nil {
		return fmt.Errorf("oci: attach to %s: %w", id, err)
	}
	return attachSession(ctx, conn, info, s)
}

// dialAttach connects to a shim's attach socket.
func dialAttach(path string) (*net.UnixConn, error) {
	addr, done, err := shim.ShortSocketPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: addr, Net: "unixpacket"})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("its shim serves no attach socket (%w): it was started by an older fargo-shim; restart the container", err)
	}
	return conn, err
}

// attachHandshake exchanges the version lines.
func attachHandshake(conn *net.UnixConn, stdin bool) (shim.AttachInfo, error) {
	_ = conn.SetDeadline(time.Now().Add(attachHandshakeTimeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(shim.AttachHello(stdin)); err != nil {
		return shim.AttachInfo{}, err
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		return shim.AttachInfo{}, fmt.Errorf("no answer from the shim: %w", err)
	}
	return shim.ParseAttachAnswer(buf[:n])
}

// attachSession copies between the connection and s until one of the
// ends in Attach's comment.
func attachSession(ctx context.Context, conn *net.UnixConn, info shim.AttachInfo, s sandbox.Streams) error {
	output := make(chan error, 1)
	go func() { output <- copyAttachOutput(conn, info.TTY, s) }()
	stdinEnded := make(chan struct{})
	if s.Stdin != nil && info.Stdin {
		go func() {
			copyAttachInput(conn, s.Stdin)
			close(stdinEnded)
		}()
	}
	stop := make(chan struct{})
	var waitResizes func() = func() {}
	if info.TTY {
		waitResizes = applyResizes(s.Resize, stop, func(size sandbox.TerminalSize) error {
			_, err := conn.Write(shim.AttachResizePacket(size.Width, size.Height))
			return err
		})
	}
	defer func() {
		close(stop)
		conn.Close()
		waitResizes()
	}()
	var err error
	select {
	case err = <-output:
		return err
	case <-ctx.Done():
		err = ctx.Err()
	case <-stdinEnded:
		if info.StdinOnce {
			select {
			case err = <-output:
				return err
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
	}
	// Detach: closing the connection ends the output copy.
	conn.Close()
	<-output
	return err
}

// copyAttachOutput writes the shim's output packets to s until the shim
// closes the connection (the container exited) or it is closed here.
func copyAttachOutput(conn *net.UnixConn, tty bool, s sandbox.Streams) error {
	buf := make([]byte, shim.MaxAttachPacket+1)
	for {
		n, err := conn.Read(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("attach: reading from the shim: %w", err)
		}
		if n == 0 {
			continue
		}
		w := s.Stdout
		if buf[0] == shim.AttachStderr && !tty {
			w = s.Stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(buf[1:n]); err != nil {
			return fmt.Errorf("attach: writing to the client: %w", err)
		}
	}
}

// copyAttachInput sends the client's stdin to the shim, then tells it
// stdin ended.
func copyAttachInput(conn *net.UnixConn, stdin io.Reader) {
	buf := make([]byte, shim.MaxAttachPacket)
	buf[0] = shim.AttachStdin
	for {
		n, err := stdin.Read(buf[1:])
		if n > 0 {
			if _, werr := conn.Write(buf[:1+n]); werr != nil {
				return
			}
		}
		if err != nil {
			_, _ = conn.Write([]byte{shim.AttachCloseStdin})
			return
		}
	}
}
