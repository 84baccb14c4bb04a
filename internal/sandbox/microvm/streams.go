package microvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// maxExecOutput is how much of a command's output Exec keeps, as the
// sandbox.ExecResult promises.
const maxExecOutput = 64 << 10

// open starts a streaming operation and waits for the guest to accept it.
func (r *Runtime) open(ctx context.Context, uid, op string, body any) (*vmproto.Stream, error) {
	p, err := r.podFor(ctx, uid)
	if err != nil {
		return nil, err
	}
	conn, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	s, err := conn.Open(op, body)
	if err != nil {
		return nil, err
	}
	if err := s.Response(ctx, nil); err != nil {
		s.Close()
		if errors.Is(err, vmproto.ErrNotFound) {
			return nil, fmt.Errorf("microvm: %s: %w", err, sandbox.ErrNotFound)
		}
		return nil, err
	}
	return s, nil
}

// Exec runs argv in a container and returns its output and exit code.
func (r *Runtime) Exec(ctx context.Context, uid, id string, argv []string, timeout time.Duration) (sandbox.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out limitedBuffer
	code, err := r.ExecStream(ctx, uid, id, argv, sandbox.Streams{Stdout: &out, Stderr: &out})
	return sandbox.ExecResult{ExitCode: code, Output: out.Bytes()}, err
}

// limitedBuffer keeps the first maxExecOutput bytes.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxExecOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ExecStream runs argv in a container connected to s.
func (r *Runtime) ExecStream(ctx context.Context, uid, id string, argv []string, s sandbox.Streams) (int, error) {
	req := vmproto.Exec{ID: id, Argv: argv, Stdin: s.Stdin != nil, Stdout: s.Stdout != nil, Stderr: s.Stderr != nil, TTY: s.TTY}
	if d, ok := ctx.Deadline(); ok {
		req.TimeoutMillis = max(time.Until(d).Milliseconds(), 1)
	}
	st, err := r.open(ctx, uid, vmproto.OpExec, req)
	if err != nil {
		return -1, err
	}
	return pump(ctx, st, s)
}

// Attach connects s to a container's main process.
func (r *Runtime) Attach(ctx context.Context, uid, id string, s sandbox.Streams) error {
	st, err := r.open(ctx, uid, vmproto.OpAttach, vmproto.Attach{ID: id, Stdin: s.Stdin != nil, Stdout: s.Stdout != nil, Stderr: s.Stderr != nil})
	if err != nil {
		return err
	}
	_, err = pump(ctx, st, s)
	return err
}

// PortForward copies between stream and port on the guest's loopback.
func (r *Runtime) PortForward(ctx context.Context, uid string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	st, err := r.open(ctx, uid, vmproto.OpPortForward, vmproto.PortForward{Port: port})
	if err != nil {
		return err
	}
	_, err = pump(ctx, st, sandbox.Streams{Stdin: stream, Stdout: stream})
	return err
}

// pump moves a stream's frames to and from s until the guest's Exit, and
// returns its code. When ctx ends, the guest is told to cancel.
func pump(ctx context.Context, st *vmproto.Stream, s sandbox.Streams) (int, error) {
	defer st.Close()
	go sendInput(ctx, st, s)
	for {
		f, err := st.Recv(ctx)
		if err != nil {
			_ = st.Send(vmproto.KindCancel, nil)
			return -1, err
		}
		switch f.Kind {
		case vmproto.KindStdout:
			write(s.Stdout, f.Payload)
		case vmproto.KindStderr:
			write(s.Stderr, f.Payload)
		case vmproto.KindExit:
			var e vmproto.Exit
			if err := f.JSON(&e); err != nil {
				return -1, err
			}
			if e.Error != "" {
				return e.Code, errors.New(e.Error)
			}
			return e.Code, nil
		}
	}
}

func write(w io.Writer, p []byte) {
	if w != nil {
		_, _ = w.Write(p)
	}
}

// sendInput forwards the client's stdin and terminal sizes.
func sendInput(ctx context.Context, st *vmproto.Stream, s sandbox.Streams) {
	if s.Resize != nil {
		go func() {
			for {
				select {
				case size, ok := <-s.Resize:
					if !ok {
						return
					}
					_ = st.SendJSON(vmproto.KindResize, vmproto.Resize{Width: size.Width, Height: size.Height})
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	if s.Stdin == nil {
		return
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := s.Stdin.Read(buf)
		if n > 0 && st.Send(vmproto.KindStdin, buf[:n]) != nil {
			return
		}
		if err != nil {
			_ = st.Send(vmproto.KindEOF, nil)
			return
		}
	}
}
