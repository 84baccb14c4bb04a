package guestinit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// server is the guest's state, which outlives host connections.
type server struct {
	mu         sync.Mutex
	containers map[string]*container
	volumes    map[string]string // volume name -> guest path
	setup      *vmproto.Setup
	mountedImg map[string]string // disk serial -> mount point

	out *outbox
}

func newServer() *server {
	return &server{
		containers: map[string]*container{}, volumes: map[string]string{}, mountedImg: map[string]string{},
		out: newOutbox(),
	}
}

// serve runs one host connection until it ends.
func (s *server) serve(c *vmproto.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := handshake(ctx, c); err != nil {
		logf("host connection: %v", err)
		return
	}
	go func() {
		for range c.Events() { // the host sends nothing else on stream 0
		}
	}()
	s.out.attach(c)
	defer s.out.detach(c)
	for {
		st, err := c.Accept(ctx)
		if err != nil {
			return
		}
		go s.handle(ctx, st)
	}
}

// handle runs one request.
func (s *server) handle(ctx context.Context, st *vmproto.Stream) {
	defer st.Close()
	req, err := st.Request(ctx)
	if err != nil {
		return
	}
	switch req.Op {
	case vmproto.OpExec:
		s.exec(ctx, st, req)
		return
	case vmproto.OpAttach:
		s.attach(ctx, st, req)
		return
	case vmproto.OpPortForward:
		s.portForward(ctx, st, req)
		return
	case vmproto.OpImage:
		s.addImage(ctx, st, req)
		return
	}
	result, err := s.unary(ctx, req)
	_ = st.Respond(result, err)
	if err == nil && req.Op == vmproto.OpShutdown {
		powerOff()
	}
}

// unary runs a request that has one answer.
func (s *server) unary(ctx context.Context, req vmproto.Request) (any, error) {
	switch req.Op {
	case vmproto.OpSetup:
		var b vmproto.Setup
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		return nil, s.doSetup(b)
	case vmproto.OpStart:
		var b vmproto.Start
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		return s.start(b)
	case vmproto.OpList:
		return s.list(), nil
	case vmproto.OpStop:
		var b vmproto.Stop
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		return nil, s.stop(ctx, b)
	case vmproto.OpRemove:
		var b vmproto.Remove
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		return nil, s.remove(b.ID)
	case vmproto.OpStats:
		return s.stats(), nil
	case vmproto.OpFiles:
		var b vmproto.Files
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		return nil, s.files(b)
	case vmproto.OpShutdown:
		var b vmproto.Shutdown
		if err := req.Decode(&b); err != nil {
			return nil, err
		}
		s.shutdown(ctx, b)
		return nil, nil
	}
	return nil, fmt.Errorf("fargo-init does not know operation %q (vmproto %d)", req.Op, vmproto.Version)
}

// container is id, or an error wrapping vmproto.ErrNotFound.
func (s *server) container(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, vmproto.ErrNotFound)
	}
	return c, nil
}

var errNoSetup = errors.New("the guest was not set up: the host sends setup before starting containers")
