// Package vmrelay keeps a microVM's channel connected while no host
// agent is. It is fargo-shim's vm-relay role: one small process per VM,
// started beside the VMM and outliving the agent, as a container's shim
// does. It holds the VMM's channel socket for the VM's whole life, so the
// guest never sees its host side close (QEMU's virtio-serial port can
// stall for good when the guest writes while it is closed), keeps the
// guest's frames while no agent is there, and passes whole frames only,
// so an agent that dies halfway through one never desynchronises the
// guest. Each new agent starts with a Hello, on which fargo-init begins a
// fresh session.
package vmrelay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/shim"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// maxQueued bounds what waits for an agent; past it the relay stops
// reading from the VM (which then holds the guest's writes) until one
// comes.
const maxQueued = 8 << 20

// Run relays between the VMM's channel socket and agents connecting to
// listen, until the VM's side closes (the VM is gone).
func Run(channel, listen string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	vm, err := Dial(ctx, channel)
	cancel()
	if err != nil {
		return fmt.Errorf("vmrelay: the VM's channel: %w", err)
	}
	defer vm.Close()
	ln, err := listenAt(listen)
	if err != nil {
		return err
	}
	defer os.Remove(listen)
	defer ln.Close()
	r := &relay{vm: vm}
	r.cond = sync.NewCond(&r.mu)
	go r.acceptLoop(ln)
	return r.fromVM()
}

// Dial connects to the unix socket at path, which may be longer than a
// socket address holds, waiting until it is there or ctx ends.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	addr, done, err := shim.ShortSocketPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	var dialer net.Dialer
	for {
		c, err := dialer.DialContext(ctx, "unix", addr)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to %s: %w", path, errors.Join(err, ctx.Err()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listenAt(path string) (net.Listener, error) {
	_ = os.Remove(path)
	addr, done, err := shim.ShortSocketPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("vmrelay: listen on %s: %w", path, err)
	}
	return ln, os.Chmod(path, 0o600)
}

// relay is the queue of the VM's frames and the agent connected now.
type relay struct {
	vm   net.Conn
	vmMu sync.Mutex // writes to the VM, one whole frame at a time

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []vmproto.Frame
	size   int
	agent  net.Conn
	closed bool
}

// fromVM reads the VM's frames into the queue until the VM is gone.
func (r *relay) fromVM() error {
	defer func() {
		r.mu.Lock()
		r.closed = true
		if r.agent != nil {
			r.agent.Close()
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	for {
		f, err := vmproto.ReadFrame(r.vm)
		if err != nil {
			return nil // the VMM closed the channel: the VM ended
		}
		r.mu.Lock()
		for r.size > maxQueued && !r.closed {
			r.cond.Wait()
		}
		r.queue = append(r.queue, f)
		r.size += len(f.Payload)
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// acceptLoop serves one agent at a time; a new one replaces the last.
func (r *relay) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.agent != nil {
			r.agent.Close()
		}
		r.agent = c
		r.cond.Broadcast()
		r.mu.Unlock()
		go r.toAgent(c)
		go r.fromAgent(c)
	}
}

// toAgent sends queued frames to agent c while it is the current one; a
// frame that could not be written stays first in the queue.
func (r *relay) toAgent(c net.Conn) {
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && r.agent == c && !r.closed {
			r.cond.Wait()
		}
		if r.agent != c || r.closed {
			r.mu.Unlock()
			return
		}
		f := r.queue[0]
		r.mu.Unlock()
		if err := vmproto.WriteFrame(c, f); err != nil {
			c.Close()
			return
		}
		r.mu.Lock()
		r.queue = r.queue[1:]
		r.size -= len(f.Payload)
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// fromAgent passes agent c's whole frames to the VM.
func (r *relay) fromAgent(c net.Conn) {
	defer c.Close()
	for {
		f, err := vmproto.ReadFrame(c)
		if err != nil {
			return
		}
		r.vmMu.Lock()
		err = vmproto.WriteFrame(r.vm, f)
		r.vmMu.Unlock()
		if err != nil {
			return
		}
	}
}

// ErrUsage is a bad command line.
var ErrUsage = errors.New("usage: fargo-shim vm-relay CHANNEL-SOCKET LISTEN-SOCKET")
