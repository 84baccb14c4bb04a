package guestinit

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// exec runs a command in a running container: its root, user,
// environment, capabilities and cgroup, with its own stdio on st.
func (s *server) exec(ctx context.Context, st *vmproto.Stream, req vmproto.Request) {
	var b vmproto.Exec
	if err := req.Decode(&b); err != nil {
		_ = st.Respond(nil, err)
		return
	}
	c, err := s.container(b.ID)
	if err == nil && c.snapshot().State != vmproto.StateRunning {
		err = fmt.Errorf("container %s is not running", b.ID)
	}
	if err == nil && len(b.Argv) == 0 {
		err = fmt.Errorf("no command given")
	}
	if err != nil {
		_ = st.Respond(nil, err)
		return
	}
	pio, err := newProcessIO(b.TTY, b.Stdin, b.Stdout || b.TTY, b.Stderr && !b.TTY)
	if err != nil {
		_ = st.Respond(nil, err)
		return
	}
	spec := c.entry
	spec.Args = b.Argv
	spec.JoinPid, spec.TTY = c.snapshot().Pid, b.TTY
	pid, wait, err := startEntry(spec, pio.child, b.TTY, false)
	pio.closeChild()
	if err != nil {
		pio.closeParent()
		_ = st.Respond(nil, err)
		return
	}
	_ = st.Respond(nil, nil)
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		forwardOutputs(st, pio.outputs())
	}()
	go feedInput(ctx, st, pio, pid)
	var timeout <-chan time.Time
	if b.TimeoutMillis > 0 {
		timer := time.NewTimer(time.Duration(b.TimeoutMillis) * time.Millisecond)
		defer timer.Stop()
		timeout = timer.C
	}
	exit := vmproto.Exit{}
	select {
	case ws := <-wait:
		exit.Code = exitCode(ws)
	case <-timeout:
		killExec(pid)
		exit.Code, exit.Error = exitCode(<-wait), "command timed out"
	}
	if pio.tty != nil {
		pio.tty.Close() // a pty's reader sees EIO only once no one holds it
	}
	select {
	case <-outDone:
	case <-time.After(2 * time.Second): // a child kept the output open
	}
	if pio.stdin != nil && pio.stdin != pio.tty {
		pio.stdin.Close()
	}
	_ = st.SendJSON(vmproto.KindExit, exit)
}

// forwardOutputs copies each output to the stream until all end.
func forwardOutputs(st *vmproto.Stream, outs []output) {
	done := make(chan struct{}, len(outs))
	for _, o := range outs {
		go func() {
			defer func() { done <- struct{}{} }()
			kind := vmproto.KindStdout
			if o.stderr {
				kind = vmproto.KindStderr
			}
			buf := make([]byte, vmproto.MaxPayload)
			for {
				n, err := o.r.Read(buf)
				if n > 0 && st.Send(kind, buf[:n]) != nil {
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	for range outs {
		<-done
	}
}

// feedInput writes Stdin frames to the process, closes its stdin on EOF,
// resizes its terminal, and kills it on Cancel or when the host is gone.
func feedInput(ctx context.Context, st *vmproto.Stream, pio *processIO, pid int) {
	for {
		f, err := st.Recv(ctx)
		if err != nil {
			killExec(pid)
			return
		}
		switch f.Kind {
		case vmproto.KindStdin:
			if pio.stdin != nil {
				_, _ = pio.stdin.Write(f.Payload)
			}
		case vmproto.KindEOF:
			if pio.tty != nil {
				_, _ = pio.tty.Write([]byte{4}) // ^D: a terminal's end of input
			} else if pio.stdin != nil {
				pio.stdin.Close()
			}
		case vmproto.KindResize:
			var r vmproto.Resize
			if pio.tty != nil && f.JSON(&r) == nil {
				setWinsize(pio.tty, r)
			}
		case vmproto.KindCancel:
			killExec(pid)
			return
		}
	}
}

// attachWants says which outputs an attached client takes.
type attachWants struct{ stdout, stderr bool }

// toViewers copies output to the attached clients.
func (c *container) toViewers(data []byte, stderr bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for v, w := range c.viewer {
		switch {
		case stderr && w.stderr:
			_ = v.Send(vmproto.KindStderr, data)
		case !stderr && w.stdout:
			_ = v.Send(vmproto.KindStdout, data)
		}
	}
}

// attach connects st to the container's main process until the host
// cancels or the container exits.
func (s *server) attach(ctx context.Context, st *vmproto.Stream, req vmproto.Request) {
	var b vmproto.Attach
	if err := req.Decode(&b); err != nil {
		_ = st.Respond(nil, err)
		return
	}
	c, err := s.container(b.ID)
	if err != nil {
		_ = st.Respond(nil, err)
		return
	}
	c.mu.Lock()
	running := c.status.State == vmproto.StateRunning
	if running {
		c.viewer[st] = attachWants{stdout: b.Stdout, stderr: b.Stderr}
	}
	stdin, tty := c.stdin, c.tty
	c.mu.Unlock()
	if !running {
		_ = st.Respond(nil, fmt.Errorf("container %s is not running", b.ID))
		return
	}
	_ = st.Respond(nil, nil)
	defer func() {
		c.mu.Lock()
		delete(c.viewer, st)
		c.mu.Unlock()
	}()
	for {
		f, err := st.Recv(ctx)
		if err != nil || f.Kind == vmproto.KindCancel {
			return
		}
		switch f.Kind {
		case vmproto.KindStdin:
			if b.Stdin && stdin != nil {
				_, _ = stdin.Write(f.Payload)
			}
		case vmproto.KindEOF:
			if c.spec.StdinOnce && stdin != nil && tty == nil {
				stdin.Close()
			}
		case vmproto.KindResize:
			var r vmproto.Resize
			if tty != nil && f.JSON(&r) == nil {
				setWinsize(tty, r)
			}
		}
	}
}

// portForward copies between st and a TCP port on the guest's loopback.
func (s *server) portForward(ctx context.Context, st *vmproto.Stream, req vmproto.Request) {
	var b vmproto.PortForward
	if err := req.Decode(&b); err != nil {
		_ = st.Respond(nil, err)
		return
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(b.Port))), 5*time.Second)
	if err != nil {
		_ = st.Respond(nil, err)
		return
	}
	defer conn.Close()
	_ = st.Respond(nil, nil)
	go func() {
		for {
			f, err := st.Recv(ctx)
			if err != nil || f.Kind == vmproto.KindCancel {
				conn.Close()
				return
			}
			switch f.Kind {
			case vmproto.KindStdin:
				if _, err := conn.Write(f.Payload); err != nil {
					return
				}
			case vmproto.KindEOF:
				_ = conn.(*net.TCPConn).CloseWrite()
			}
		}
	}()
	buf := make([]byte, vmproto.MaxPayload)
	for {
		n, err := conn.Read(buf)
		if n > 0 && st.Send(vmproto.KindStdout, buf[:n]) != nil {
			break
		}
		if err != nil {
			break
		}
	}
	_ = st.SendJSON(vmproto.KindExit, vmproto.Exit{})
}

// killExec ends an exec: its process (joinAndRun) kills the command on
// SIGTERM and exits.
func killExec(pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }
