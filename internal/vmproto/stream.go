package vmproto

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// Stream is one operation's messages in both directions. Its incoming
// queue has no bound, so one slow stream never stalls the connection's
// reader; the operations that move much data (exec, port-forward) are
// paced by their consumers on the far side.
type Stream struct {
	c  *Conn
	id uint32

	mu     sync.Mutex
	queue  []Frame
	ready  chan struct{}
	ended  bool
	closed bool
}

func newStream(c *Conn, id uint32) *Stream {
	return &Stream{c: c, id: id, ready: make(chan struct{}, 1)}
}

// ID is the stream's number on its connection.
func (s *Stream) ID() uint32 { return s.id }

func (s *Stream) push(f Frame) {
	s.mu.Lock()
	s.queue = append(s.queue, f)
	s.mu.Unlock()
	s.wake()
}

func (s *Stream) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.wake()
}

func (s *Stream) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Recv returns the stream's next message; ErrClosed once the connection
// ended and the queue is empty.
func (s *Stream) Recv(ctx context.Context) (Frame, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			f := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return f, nil
		}
		ended := s.ended || s.closed
		s.mu.Unlock()
		if ended {
			return Frame{}, ErrClosed
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// Send writes a message on the stream.
func (s *Stream) Send(kind Kind, payload []byte) error { return s.c.send(s.id, kind, payload) }

// SendJSON writes v as a message on the stream.
func (s *Stream) SendJSON(kind Kind, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Send(kind, b)
}

// Request reads the Request that opened an accepted stream.
func (s *Stream) Request(ctx context.Context) (Request, error) {
	f, err := s.Recv(ctx)
	if err != nil {
		return Request{}, err
	}
	var req Request
	if f.Kind != KindRequest {
		return req, errors.New("vmproto: stream did not start with a request")
	}
	return req, f.JSON(&req)
}

// Respond answers the stream's Request: with err's text when err is not
// nil, else with result (nil for none).
func (s *Stream) Respond(result any, err error) error {
	var r Response
	if err != nil {
		r.Error = err.Error()
		r.NotFound = errors.Is(err, ErrNotFound)
	} else if result != nil {
		b, merr := json.Marshal(result)
		if merr != nil {
			return merr
		}
		r.Result = b
	}
	return s.SendJSON(KindResponse, r)
}

// Response waits for the Response to the stream's Request and decodes its
// Result into result (unless nil). A refused request is a *RemoteError.
func (s *Stream) Response(ctx context.Context, result any) error {
	f, err := s.Recv(ctx)
	if err != nil {
		return err
	}
	if f.Kind != KindResponse {
		return errors.New("vmproto: expected a response")
	}
	var r Response
	if err := f.JSON(&r); err != nil {
		return err
	}
	if r.Error != "" {
		return &RemoteError{Message: r.Error, NotFound: r.NotFound}
	}
	if result != nil && len(r.Result) > 0 {
		return json.Unmarshal(r.Result, result)
	}
	return nil
}

// Close stops the stream on this side; later frames for it are dropped.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.c.forget(s.id)
	s.wake()
}

// ErrNotFound is what the guest wraps when a container does not exist.
var ErrNotFound = errors.New("not found")

// RemoteError is an operation the peer refused.
type RemoteError struct {
	Message  string
	NotFound bool
}

func (e *RemoteError) Error() string { return e.Message }

// Is makes a NotFound RemoteError match ErrNotFound.
func (e *RemoteError) Is(target error) bool { return target == ErrNotFound && e.NotFound }
