package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Timeouts of the attach server: a client has helloTimeout to say its
// version, and is dropped when one packet to it takes longer than
// attachWriteTimeout (a stalled client must not hold output back).
const (
	helloTimeout       = 10 * time.Second
	attachWriteTimeout = 10 * time.Second
	// attachQueue is how many output packets wait for a slow client
	// before it is dropped.
	attachQueue = 256
)

// attachServer serves one container's attach socket (see attachproto.go).
type attachServer struct {
	ln   *os.File // listening socket, non-blocking
	path string
	info AttachInfo
	// input is where client stdin goes: the container's stdin pipe or
	// its terminal; nil when the container has no stdin. term is the
	// terminal, for resizes.
	input *os.File
	term  *os.File

	mu        sync.Mutex
	clients   map[*attachClient]bool
	stdinDone bool // StdinOnce: the first stdin session ended
	closed    bool
	sending   sync.WaitGroup
}

// attachClient is one accepted connection.
type attachClient struct {
	conn *os.File
	out  chan []byte // closed (under mu) to end the session
	// stdin says the client sends stdin; read by its receive loop only.
	stdin bool
}

// ShortSocketPath returns an address for the unix socket at path that
// fits a sockaddr (108 bytes): path itself when short enough, else
// /proc/self/fd/N/NAME through an open descriptor of its directory,
// which done closes once the socket is bound or connected.
func ShortSocketPath(path string) (addr string, done func(), err error) {
	if len(path) < 100 {
		return path, func() {}, nil
	}
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open socket dir %s: %w", filepath.Dir(path), err)
	}
	return "/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path), func() { unix.Close(dir) }, nil
}

// listenAttach binds the attach socket at path, replacing a stale one.
func listenAttach(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	_ = os.Remove(path)
	addr, done, err := ShortSocketPath(path)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: addr})
		done()
	}
	if err == nil {
		err = unix.Listen(fd, 16)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// serveAttach starts accepting clients on ln for a started container.
func serveAttach(ln *os.File, info AttachInfo, input, term *os.File) *attachServer {
	s := &attachServer{ln: ln, path: ln.Name(), info: info, input: input, term: term, clients: map[*attachClient]bool{}}
	go s.acceptLoop()
	return s
}

func (s *attachServer) acceptLoop() {
	rc, err := s.ln.SyscallConn()
	if err != nil {
		return
	}
	for {
		var nfd int
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			return !errors.Is(aerr, unix.EAGAIN)
		})
		switch {
		case err != nil:
			return // the listener was closed
		case aerr == nil:
			go s.serve(os.NewFile(uintptr(nfd), "attach-client"))
		case !errors.Is(aerr, unix.EINTR) && !errors.Is(aerr, unix.ECONNABORTED):
			fmt.Fprintf(os.Stderr, "shim: attach accept: %v\n", aerr)
			return
		}
	}
}

// serve runs one client's session: version lines, then its packets
// until it detaches or the session is ended.
func (s *attachServer) serve(conn *os.File) {
	buf := make([]byte, MaxAttachPacket)
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	n, err := conn.Read(buf)
	if err != nil {
		conn.Close()
		return
	}
	wantStdin, err := parseAttachHello(buf[:n])
	if err != nil {
		_, _ = conn.Write([]byte("error " + err.Error() + "\n"))
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	c, ok := s.register(conn, wantStdin)
	if !ok {
		return
	}
	go s.send(c)
	s.receive(c, buf)
	if c.stdin && s.info.StdinOnce {
		s.closeStdin()
	}
	s.end(c)
}

// register answers the client and adds it to the output's receivers, in
// one step so that no output packet precedes the answer.
func (s *attachServer) register(conn *os.File, wantStdin bool) (*attachClient, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_, _ = conn.Write([]byte("error the container has exited\n"))
		conn.Close()
		return nil, false
	}
	info := s.info
	info.Stdin = s.input != nil && !s.stdinDone
	if _, err := conn.Write(info.answer()); err != nil {
		conn.Close()
		return nil, false
	}
	c := &attachClient{conn: conn, out: make(chan []byte, attachQueue), stdin: wantStdin && info.Stdin}
	s.clients[c] = true
	s.sending.Add(1)
	return c, true
}

// receive handles the client's packets until it closes or fails.
func (s *attachServer) receive(c *attachClient, buf []byte) {
	for {
		n, err := c.conn.Read(buf)
		if err != nil || n == 0 {
			return
		}
		payload := buf[1:n]
		switch buf[0] {
		case AttachStdin:
			if c.stdin {
				// A closed stdin (StdinOnce) fails the write: nothing to do.
				_, _ = s.input.Write(payload)
			}
		case AttachCloseStdin:
			if c.stdin && s.info.StdinOnce {
				s.closeStdin()
			}
			c.stdin = false
		case AttachResize:
			if w, h, ok := parseResize(payload); ok && s.term != nil {
				if err := setWinsize(s.term, w, h); err != nil {
					fmt.Fprintf(os.Stderr, "shim: resize terminal: %v\n", err)
				}
			}
		}
	}
}

// send writes the client's output packets, then closes its connection.
func (s *attachServer) send(c *attachClient) {
	defer s.sending.Done()
	failed := false
	for p := range c.out {
		if failed {
			continue
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
		if _, err := c.conn.Write(p); err != nil {
			failed = true
			s.end(c)
		}
	}
	c.conn.Close()
}

// end ends a client's session; its sender then closes the connection.
func (s *attachServer) end(c *attachClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(c)
}

func (s *attachServer) endLocked(c *attachClient) {
	if s.clients[c] {
		delete(s.clients, c)
		close(c.out)
	}
}

// closeStdin ends the container's stdin once (StdinOnce). A terminal
// cannot be closed without hanging up its process: it gets an EOF
// character (^D), which ends a read as the closing of a pipe does.
func (s *attachServer) closeStdin() {
	s.mu.Lock()
	done := s.stdinDone
	s.stdinDone = true
	s.mu.Unlock()
	if done || s.input == nil {
		return
	}
	if s.term != nil {
		_, _ = s.term.Write([]byte{4})
		return
	}
	s.input.Close()
}

// broadcast queues one output chunk for every client.
func (s *attachServer) broadcast(kind byte, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 && len(s.clients) > 0 {
		chunk := p[:min(len(p), MaxAttachPacket-1)]
		p = p[len(chunk):]
		pkt := append([]byte{kind}, chunk...)
		for c := range s.clients {
			select {
			case c.out <- pkt:
			default:
				fmt.Fprintln(os.Stderr, "shim: an attached client is too slow: dropping it")
				s.endLocked(c)
			}
		}
	}
}

// tee returns r, whose reads are also sent to the clients as kind.
func (s *attachServer) tee(kind byte, r io.Reader) io.Reader {
	if s == nil {
		return r
	}
	return io.TeeReader(r, attachWriter{s, kind})
}

type attachWriter struct {
	s    *attachServer
	kind byte
}

func (w attachWriter) Write(p []byte) (int, error) {
	w.s.broadcast(w.kind, p)
	return len(p), nil
}

// shutdown stops accepting, ends every session once its queued output is
// sent (bounded by drainTimeout), and removes the socket.
func (s *attachServer) shutdown() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	for c := range s.clients {
		s.endLocked(c)
	}
	s.mu.Unlock()
	s.ln.Close()
	_ = os.Remove(s.path)
	waitTimeout(&s.sending, drainTimeout)
}

// setWinsize sets a terminal's size; the kernel sends SIGWINCH to its
// foreground process group.
func setWinsize(term *os.File, width, height uint16) error {
	rc, err := term.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: height, Col: width})
	})
	return errors.Join(err, ierr)
}

// eofOnEIO turns the EIO a terminal's master reads once its last
// process closed the terminal into the EOF that it means.
type eofOnEIO struct{ r io.Reader }

func (e eofOnEIO) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
