package guestinit

import (
	"sync"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// maxOutbox bounds what waits for a host: output of the time no host
// agent is connected is kept up to this, the oldest log frames going
// first; exit events are always kept.
const maxOutbox = 4 << 20

// outbox sends stream-0 frames (output and exits) in order to the
// connected host, holding them while none is.
type outbox struct {
	mu    sync.Mutex
	cond  *sync.Cond
	queue []queued
	size  int
	seq   uint64
	conn  *vmproto.Conn
}

// queued is a frame waiting, numbered so run knows the head it sent is
// still the head.
type queued struct {
	seq   uint64
	frame vmproto.Frame
}

func newOutbox() *outbox {
	o := &outbox{}
	o.cond = sync.NewCond(&o.mu)
	go o.run()
	return o
}

func (o *outbox) push(kind vmproto.Kind, payload []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.queue = append(o.queue, queued{o.seq, vmproto.Frame{Kind: kind, Payload: payload}})
	o.size += len(payload)
	for o.size > maxOutbox && o.dropOldestLog() {
	}
	o.cond.Signal()
}

func (o *outbox) dropOldestLog() bool {
	for i, q := range o.queue {
		if q.frame.Kind == vmproto.KindLog {
			o.size -= len(q.frame.Payload)
			o.queue = append(o.queue[:i], o.queue[i+1:]...)
			return true
		}
	}
	return false
}

func (o *outbox) attach(c *vmproto.Conn) {
	o.mu.Lock()
	o.conn = c
	o.cond.Broadcast()
	o.mu.Unlock()
}

func (o *outbox) detach(c *vmproto.Conn) {
	o.mu.Lock()
	if o.conn == c {
		o.conn = nil
	}
	o.mu.Unlock()
}

// run sends the queue's head whenever a host is connected; a frame whose
// send fails stays at the head for the next host.
func (o *outbox) run() {
	for {
		o.mu.Lock()
		for o.conn == nil || len(o.queue) == 0 {
			o.cond.Wait()
		}
		head, c := o.queue[0], o.conn
		o.mu.Unlock()
		if err := c.Send(head.frame.Kind, head.frame.Payload); err != nil {
			o.detach(c)
			continue
		}
		o.mu.Lock()
		if len(o.queue) > 0 && o.queue[0].seq == head.seq {
			o.queue = o.queue[1:]
			o.size -= len(head.frame.Payload)
		}
		o.mu.Unlock()
	}
}
