package vmproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// more marks a frame whose message goes on in the next frame of the same
// stream and kind: JSON messages (a volume's files) may be larger than a
// frame.
const more Kind = 0x80

// maxMessage bounds a reassembled message, so a confused peer cannot make
// the other end hold unbounded memory.
const maxMessage = 16 << 20

// ErrClosed is returned by a Conn or Stream whose connection is gone.
var ErrClosed = errors.New("vmproto: connection closed")

// errNewSession ends a Conn on which a second Hello came.
var errNewSession = errors.New("vmproto: a new host session began")

// Next is the Hello that ended this Conn, once Done: a new host took the
// byte stream over (through a relay that keeps it open), and a new Conn
// on the same stream starts with it. ok is false when the Conn ended
// otherwise.
func (c *Conn) Next() (hello Frame, ok bool) {
	<-c.done
	if c.next == nil {
		return Frame{}, false
	}
	return *c.next, true
}

// Conn multiplexes streams over one byte stream. The host opens streams
// (Open, Call); the guest accepts them (Accept). Stream 0 carries the
// guest's events to the host (Events).
type Conn struct {
	rw      io.ReadWriteCloser
	wmu     sync.Mutex
	mu      sync.Mutex
	streams map[uint32]*Stream
	nextID  uint32
	accept  chan *Stream
	events  chan Frame
	done    chan struct{}
	err     error

	// pending are frames read before this Conn, served first; sawHello
	// and next make a second Hello end the Conn (a new host has taken
	// over the channel) and hand that Hello on (Next).
	pending  []Frame
	sawHello bool
	next     *Frame
}

// NewConn serves rw until it fails or Close is called. Frames of streams
// the host opens reach Accept, stream 0's reach Events. pending, if any,
// are frames already read from rw (Next's), served before rw's.
func NewConn(rw io.ReadWriteCloser, pending ...Frame) *Conn {
	c := &Conn{
		rw: rw, streams: map[uint32]*Stream{}, nextID: 1,
		accept: make(chan *Stream, 16), events: make(chan Frame, 256), done: make(chan struct{}),
		pending: pending,
	}
	go c.readLoop()
	return c
}

// Done is closed when the connection is gone; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection and every stream on it.
func (c *Conn) Close() error {
	err := c.rw.Close()
	<-c.done
	return err
}

// Events delivers stream 0's frames (Event and Log); it is closed with
// the connection. A reader must keep up: while it does not, no other
// stream moves either.
func (c *Conn) Events() <-chan Frame { return c.events }

// Accept delivers each stream the peer opens, with its first message
// (the Request) already queued.
func (c *Conn) Accept(ctx context.Context) (*Stream, error) {
	// Streams that arrived before the connection ended are still served.
	select {
	case s := <-c.accept:
		return s, nil
	default:
	}
	select {
	case s := <-c.accept:
		return s, nil
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Send writes a message on stream 0.
func (c *Conn) Send(kind Kind, payload []byte) error { return c.send(0, kind, payload) }

// SendJSON writes v as a message on stream 0.
func (c *Conn) SendJSON(kind Kind, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.send(0, kind, b)
}

// send writes a message in as many frames as it needs.
func (c *Conn) send(id uint32, kind Kind, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		// The peer is gone; a virtio-serial port would take the bytes
		// and hand them to whoever connects next, ahead of its hello.
		return ErrClosed
	default:
	}
	for {
		n := min(len(payload), MaxPayload)
		k := kind
		if n < len(payload) {
			k |= more
		}
		if err := WriteFrame(c.rw, Frame{Stream: id, Kind: k, Payload: payload[:n]}); err != nil {
			return fmt.Errorf("vmproto: write: %w", err)
		}
		payload = payload[n:]
		if len(payload) == 0 {
			return nil
		}
	}
}

// Open starts a stream with a Request for op with body (nil for none).
func (c *Conn) Open(op string, body any) (*Stream, error) {
	req := Request{Op: op}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req.Body = b
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	id := c.nextID
	c.nextID++
	s := newStream(c, id)
	c.streams[id] = s
	c.mu.Unlock()
	if err := s.SendJSON(KindRequest, req); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Call runs a unary operation: opens a stream, waits for the Response and
// decodes its Result into result (unless nil).
func (c *Conn) Call(ctx context.Context, op string, body, result any) error {
	s, err := c.Open(op, body)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Response(ctx, result)
}

func (c *Conn) readLoop() {
	var err error
	defer func() { c.shutdown(err) }()
	partial := map[uint32][]byte{}
	for {
		var f Frame
		if len(c.pending) > 0 {
			f, c.pending = c.pending[0], c.pending[1:]
		} else if f, err = ReadFrame(c.rw); err != nil {
			return
		}
		if f.Stream == 0 && f.Kind == KindHello {
			if c.sawHello {
				c.next, err = &f, errNewSession
				return
			}
			c.sawHello = true
		}
		if f.Kind&more != 0 {
			partial[f.Stream] = append(partial[f.Stream], f.Payload...)
			if len(partial[f.Stream]) > maxMessage {
				err = fmt.Errorf("vmproto: message on stream %d is over %d bytes", f.Stream, maxMessage)
				return
			}
			continue
		}
		if p, ok := partial[f.Stream]; ok {
			f.Payload = append(p, f.Payload...)
			delete(partial, f.Stream)
		}
		c.deliver(f)
	}
}

// deliver hands f to its stream, opening it when the peer starts one.
func (c *Conn) deliver(f Frame) {
	if f.Stream == 0 {
		c.events <- f
		return
	}
	c.mu.Lock()
	s, ok := c.streams[f.Stream]
	if !ok && f.Kind == KindRequest {
		s = newStream(c, f.Stream)
		c.streams[f.Stream] = s
	}
	c.mu.Unlock()
	if s == nil {
		return // a stream already closed on this side: late frames go
	}
	s.push(f)
	if !ok && f.Kind == KindRequest {
		c.accept <- s
	}
}

func (c *Conn) shutdown(err error) {
	if errors.Is(err, io.EOF) {
		err = ErrClosed
	}
	c.mu.Lock()
	c.err = err
	streams := c.streams
	c.streams = map[uint32]*Stream{}
	c.mu.Unlock()
	for _, s := range streams {
		s.end()
	}
	close(c.events)
	close(c.done)
}

func (c *Conn) forget(id uint32) {
	c.mu.Lock()
	delete(c.streams, id)
	c.mu.Unlock()
}
