package microvm

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// defaultBootTimeout bounds a boot under TCG on a busy host.
const defaultBootTimeout = 60 * time.Second

// connect returns the pod's channel to fargo-init, connecting (and
// exchanging hellos) when there is none or the last one broke.
func (p *pod) connect(ctx context.Context) (*vmproto.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		select {
		case <-p.conn.Done():
		default:
			return p.conn, nil
		}
	}
	timeout := p.r.cfg.BootTimeout
	if timeout == 0 {
		timeout = defaultBootTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := p.dialRelay(cctx)
	if err != nil {
		return nil, p.bootError(err)
	}
	conn := vmproto.NewConn(nc)
	early, err := hello(cctx, conn)
	if err != nil {
		conn.Close()
		return nil, p.bootError(err)
	}
	p.conn = conn
	go func() {
		for _, f := range early {
			p.handleEvent(f)
		}
		p.serveEvents(conn)
	}()
	go p.refreshVolumes(conn)
	return conn, nil
}

// hello sends ours and waits for the guest's, which comes once fargo-init
// has the channel open: that is, once the guest booted. Output and exits
// the guest sent before it (written while the last agent went away, and
// handed on by the port to this connection) are returned, to be handled
// first.
func hello(ctx context.Context, conn *vmproto.Conn) (early []vmproto.Frame, err error) {
	if err := conn.SendJSON(vmproto.KindHello, vmproto.Hello{Version: vmproto.Version}); err != nil {
		return nil, err
	}
	for {
		select {
		case f, ok := <-conn.Events():
			if !ok {
				return nil, fmt.Errorf("channel closed before the guest's hello: %v", conn.Err())
			}
			if f.Kind != vmproto.KindHello {
				early = append(early, f)
				continue
			}
			var h vmproto.Hello
			if err := f.JSON(&h); err != nil {
				return nil, err
			}
			if h.Version != vmproto.Version {
				return nil, fmt.Errorf("the guest speaks vmproto %d, the host %d: rebuild the initramfs with this fargo's fargo-init", h.Version, vmproto.Version)
			}
			return early, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("no hello from fargo-init: %w", ctx.Err())
		}
	}
}

// bootError says what the guest's console said last, where boot problems
// show.
func (p *pod) bootError(err error) error {
	b, _ := os.ReadFile(p.r.cfg.VMM.ConsoleLog(p.rec.VM))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return fmt.Errorf("microvm: pod %s: guest did not come up: %w; console (%s) ends: %s: %w",
		p.uid, err, p.r.cfg.VMM.ConsoleLog(p.rec.VM), strings.Join(lines, " | "), sandbox.ErrUnavailable)
}

// serveEvents takes the guest's output and exits until the connection
// ends.
func (p *pod) serveEvents(conn *vmproto.Conn) {
	for f := range conn.Events() {
		p.handleEvent(f)
	}
}

// handleEvent writes a Log frame to its container's log and reports an
// exit Event.
func (p *pod) handleEvent(f vmproto.Frame) {
	switch f.Kind {
	case vmproto.KindLog:
		if l, err := vmproto.DecodeLog(f.Payload); err == nil {
			p.logFor(l.ID).write(l)
		}
	case vmproto.KindEvent:
		var ev vmproto.Event
		if f.JSON(&ev) == nil && ev.Exited != nil {
			p.exited(*ev.Exited)
		}
	}
}

// exited flushes the attempt's log, then reports its exit.
func (p *pod) exited(st vmproto.ContainerStatus) {
	p.mu.Lock()
	l := p.logs[st.ID]
	delete(p.logs, st.ID)
	p.mu.Unlock()
	if l != nil {
		l.close()
	}
	select {
	case p.r.exits <- p.statusOf(st):
	default: // the node agent also polls Containers
	}
}
