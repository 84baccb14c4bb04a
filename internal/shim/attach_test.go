package shim

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dialTest connects to an attach socket and says hello.
func dialTest(t *testing.T, path, hello string) (*net.UnixConn, string) {
	t.Helper()
	addr, done, err := ShortSocketPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: addr, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(hello)); err != nil {
		t.Fatal(err)
	}
	return conn, string(readPacket(t, conn))
}

func readPacket(t *testing.T, conn *net.UnixConn) []byte {
	t.Helper()
	buf := make([]byte, MaxAttachPacket+1)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read packet: %v", err)
	}
	return buf[:n]
}

func TestAttachServer(t *testing.T) {
	// Deeper than a sockaddr holds: the socket is bound and dialled
	// through the directory's descriptor.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, AttachSocketName)
	ln, err := listenAttach(path)
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinR.Close()
	srv := serveAttach(ln, AttachInfo{Stdin: true, StdinOnce: true}, stdinW, nil)
	defer srv.shutdown()

	if _, answer := dialTest(t, path, "fargo-attach 2\n"); !strings.HasPrefix(answer, "error unsupported attach protocol") {
		t.Fatalf("answer to version 2 = %q, want an error naming the version", answer)
	}
	conn, answer := dialTest(t, path, string(AttachHello(true)))
	if info, err := ParseAttachAnswer([]byte(answer)); err != nil || info != (AttachInfo{Stdin: true, StdinOnce: true}) {
		t.Fatalf("answer %q (%v), want stdin and stdin-once", answer, err)
	}
	srv.broadcast(AttachStdout, []byte("out"))
	srv.broadcast(AttachStderr, []byte("err"))
	for _, want := range []string{"\x01out", "\x02err"} {
		if got := string(readPacket(t, conn)); got != want {
			t.Fatalf("packet %q, want %q", got, want)
		}
	}
	conn.Write(append([]byte{AttachStdin}, "typed"...))
	conn.Write([]byte{AttachCloseStdin})
	// StdinOnce: the end of the first session's stdin closes the
	// container's, which then reads EOF.
	stdinR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(stdinR); string(got) != "typed" || err != nil {
		t.Fatalf("container stdin read %q, %v; want typed then EOF", got, err)
	}
	later, answer := dialTest(t, path, string(AttachHello(true)))
	if info, _ := ParseAttachAnswer([]byte(answer)); info.Stdin {
		t.Fatalf("answer after the stdin closed = %q, want no stdin", answer)
	}
	srv.shutdown()
	for _, c := range []*net.UnixConn{conn, later} {
		if n, err := c.Read(make([]byte, 16)); err != io.EOF {
			t.Fatalf("after shutdown a client read %d bytes, %v; want EOF", n, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still exists after shutdown: %v", err)
	}
}

func TestAttachAnswerAndResize(t *testing.T) {
	for _, info := range []AttachInfo{{}, {TTY: true}, {Stdin: true, StdinOnce: true}, {TTY: true, Stdin: true}} {
		got, err := ParseAttachAnswer(info.answer())
		if err != nil || got != info {
			t.Errorf("answer %q parsed as %+v, %v", info.answer(), got, err)
		}
	}
	if _, err := ParseAttachAnswer([]byte("error the container has exited\n")); err == nil || err.Error() != "the container has exited" {
		t.Errorf("error answer parsed as %v", err)
	}
	p := AttachResizePacket(120, 50)
	if w, h, ok := parseResize(p[1:]); p[0] != AttachResize || !ok || w != 120 || h != 50 {
		t.Errorf("resize packet %v decodes to %d x %d (%v)", p, w, h, ok)
	}
	if stdin, err := parseAttachHello(AttachHello(true)); !stdin || err != nil {
		t.Errorf("hello with stdin parsed as %v, %v", stdin, err)
	}
	if _, err := parseAttachHello([]byte("hello\n")); err == nil {
		t.Error("a hello without the version was accepted")
	}
}

// TestAttachSlowClientDropped: a client that does not read is dropped
// once its queue is full, and output to others goes on.
func TestAttachSlowClientDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), AttachSocketName)
	ln, err := listenAttach(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := serveAttach(ln, AttachInfo{}, nil, nil)
	defer srv.shutdown()
	slow, _ := dialTest(t, path, string(AttachHello(false)))
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	for range attachQueue * 4 {
		srv.broadcast(AttachStdout, chunk)
	}
	srv.mu.Lock()
	left := len(srv.clients)
	srv.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d clients after %d MiB unread, want the slow one dropped", left, attachQueue*4*16>>10)
	}
	// It gets what was queued, then EOF.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, MaxAttachPacket+1)
	for {
		if _, err := slow.Read(buf); err != nil {
			if err != io.EOF {
				t.Fatalf("dropped client read: %v, want EOF after its queue", err)
			}
			break
		}
	}
}
