package vmproto

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func pair(t *testing.T) (host, guest *Conn) {
	a, b := net.Pipe()
	host, guest = NewConn(a), NewConn(b)
	t.Cleanup(func() { host.Close(); guest.Close() })
	return host, guest
}

func TestCallCarriesLargeBodiesBothWays(t *testing.T) {
	host, guest := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("x"), 3*MaxPayload+17)
	go func() {
		s, err := guest.Accept(ctx)
		if err != nil {
			return
		}
		req, _ := s.Request(ctx)
		var f Files
		_ = jsonBody(req, &f)
		s.Respond(f, nil)
	}()
	var got Files
	err := host.Call(ctx, OpFiles, Files{Volume: "v", Entries: []FileEntry{{Path: "a", Data: big}}}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.Volume != "v" || !bytes.Equal(got.Entries[0].Data, big) {
		t.Fatalf("round trip lost the body: volume %q, %d bytes", got.Volume, len(got.Entries[0].Data))
	}
}

func TestRefusalIsRemoteErrorAndNotFoundMatches(t *testing.T) {
	host, guest := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		s, _ := guest.Accept(ctx)
		s.Request(ctx)
		s.Respond(nil, errors.Join(ErrNotFound, errors.New("container c1")))
	}()
	err := host.Call(ctx, OpStop, Stop{ID: "c1"}, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want an error matching ErrNotFound", err)
	}
}

func TestEventsAndLogsArriveInOrder(t *testing.T) {
	host, guest := pair(t)
	now := time.Unix(1700000000, 5)
	go func() {
		guest.Send(KindLog, Log{ID: "c1", Stderr: true, Time: now, Data: []byte("hello\n")}.Encode())
		guest.SendJSON(KindEvent, Event{Exited: &ContainerStatus{ID: "c1", ExitCode: 3}})
	}()
	f := <-host.Events()
	l, err := DecodeLog(f.Payload)
	if err != nil || l.ID != "c1" || !l.Stderr || string(l.Data) != "hello\n" || !l.Time.Equal(now) {
		t.Fatalf("log frame: %+v, %v", l, err)
	}
	var ev Event
	if err := (<-host.Events()).JSON(&ev); err != nil || ev.Exited == nil || ev.Exited.ExitCode != 3 {
		t.Fatalf("event: %+v, %v", ev, err)
	}
}

func TestStreamsEndWhenTheConnectionDoes(t *testing.T) {
	host, guest := pair(t)
	s, err := host.Open(OpExec, Exec{ID: "c1", Argv: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	guest.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the peer went: %v, want ErrClosed", err)
	}
	if _, err := host.Open(OpList, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after the peer went: %v, want ErrClosed", err)
	}
}

func TestOversizedFrameIsRefused(t *testing.T) {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, 0, 1, byte(KindStdout), 0xff, 0xff, 0xff, 0xff})
	if _, err := ReadFrame(&buf); err == nil {
		t.Fatal("a frame claiming 4 GiB was read")
	}
}

func TestASecondHelloBeginsANewSession(t *testing.T) {
	a, b := net.Pipe()
	guest := NewConn(b)
	defer guest.Close()
	go func() {
		WriteFrame(a, Frame{Kind: KindHello, Payload: []byte(`{"version":1}`)})
		WriteFrame(a, Frame{Stream: 1, Kind: KindRequest, Payload: []byte(`{"op":"list"}`)})
		WriteFrame(a, Frame{Kind: KindHello, Payload: []byte(`{"version":1}`)})
	}()
	if f := <-guest.Events(); f.Kind != KindHello {
		t.Fatalf("first frame %v, want the hello", f.Kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := guest.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	hello, ok := guest.Next()
	if !ok || hello.Kind != KindHello {
		t.Fatalf("Next = %v, %v; want the second hello", hello.Kind, ok)
	}
	next := NewConn(b, hello)
	defer next.Close()
	if f := <-next.Events(); f.Kind != KindHello {
		t.Fatalf("the new session starts with %v, want the hello", f.Kind)
	}
	a.Close()
}
