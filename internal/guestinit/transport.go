package guestinit

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// serveHost serves one host connection after another: the host agent may
// restart, and its pods' containers run on meanwhile.
func serveHost(s *server) {
	if cmdlineHas("fargo.transport=vsock") {
		serveVsock(s)
		return
	}
	port, err := openSerialPort(10 * time.Second)
	if err != nil {
		fatal("%v", err)
	}
	for {
		rw := &serialSession{f: port}
		if !rw.waitHost() {
			continue
		}
		// One host session after another on the same open channel: a
		// new agent's Hello ends the last one's (see internal/vmrelay).
		var pending []vmproto.Frame
		for {
			c := vmproto.NewConn(rw, pending...)
			s.serve(c)
			hello, ok := c.Next()
			if !ok {
				break
			}
			pending = []vmproto.Frame{hello}
		}
	}
}

func cmdlineHas(word string) bool {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, w := range strings.Fields(string(b)) {
		if w == word {
			return true
		}
	}
	return false
}

// openSerialPort opens the virtio-serial port named for fargo.
func openSerialPort(wait time.Duration) (*os.File, error) {
	deadline := time.Now().Add(wait)
	for {
		names, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, n := range names {
			b, _ := os.ReadFile(n)
			if strings.TrimSpace(string(b)) == vmproto.SerialPortName {
				return os.OpenFile("/dev/"+filepath.Base(filepath.Dir(n)), os.O_RDWR, 0)
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no virtio-serial port named " + vmproto.SerialPortName + " (virtio_console loaded? the VMM must add it)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serialSession is one host connection on the port: reads return EOF
// once the host side is gone (a read of 0 bytes), which ends the
// vmproto.Conn; the port itself stays open for the next host.
type serialSession struct {
	f    *os.File
	peek []byte
}

// waitHost blocks until the host is connected and has sent something.
func (s *serialSession) waitHost() bool {
	buf := make([]byte, vmproto.MaxFrame)
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			s.peek = buf[:n]
			return true
		}
		if err != nil && !errors.Is(err, io.EOF) {
			logf("read channel: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *serialSession) Read(p []byte) (int, error) {
	if len(s.peek) > 0 {
		n := copy(p, s.peek)
		s.peek = s.peek[n:]
		return n, nil
	}
	n, err := s.f.Read(p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return n, err
}

func (s *serialSession) Write(p []byte) (int, error) { return s.f.Write(p) }

// Close leaves the port open for the next host.
func (s *serialSession) Close() error { return nil }

// serveVsock accepts host connections on vsock, one at a time.
func serveVsock(s *server) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fatal("vsock: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: vmproto.VsockPort}); err != nil {
		fatal("vsock bind: %v", err)
	}
	if err := unix.Listen(fd, 4); err != nil {
		fatal("vsock listen: %v", err)
	}
	for {
		nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err != nil {
			logf("vsock accept: %v", err)
			continue
		}
		s.serve(vmproto.NewConn(os.NewFile(uintptr(nfd), "vsock")))
	}
}

// handshake answers the host's hello with ours.
func handshake(ctx context.Context, c *vmproto.Conn) error {
	select {
	case f, ok := <-c.Events():
		if !ok {
			return vmproto.ErrClosed
		}
		var h vmproto.Hello
		if f.Kind != vmproto.KindHello || f.JSON(&h) != nil {
			return errors.New("the host did not start with a hello")
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	var u unix.Utsname
	_ = unix.Uname(&u)
	return c.SendJSON(vmproto.KindHello, vmproto.Hello{
		Version: vmproto.Version, BootID: strings.TrimSpace(string(boot)), Kernel: unix.ByteSliceToString(u.Release[:]),
	})
}
