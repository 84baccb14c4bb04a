package guestinit

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// processIO is a process's stdio: pipes, or a pty with TTY.
type processIO struct {
	child  [3]*os.File // the process's stdin, stdout, stderr
	stdin  *os.File    // what writes its stdin (nil without)
	stdout *os.File
	stderr *os.File
	tty    *os.File // the pty master, with TTY
	extra  []*os.File
}

type output struct {
	r      *os.File
	stderr bool
}

func newProcessIO(tty, stdin, stdout, stderr bool) (*processIO, error) {
	p := &processIO{}
	if tty {
		master, slave, err := openPTY()
		if err != nil {
			return nil, err
		}
		p.tty, p.stdout = master, master
		if stdin {
			p.stdin = master
		}
		p.child = [3]*os.File{slave, slave, slave}
		return p, nil
	}
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	p.child = [3]*os.File{null, null, null}
	p.extra = append(p.extra, null)
	if stdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.child[0], p.stdin = r, w
	}
	if stdout {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.child[1], p.stdout = w, r
	}
	if stderr {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.child[2], p.stderr = w, r
	}
	return p, nil
}

// outputs are the ends to read the process's output from.
func (p *processIO) outputs() []output {
	var out []output
	if p.stdout != nil {
		out = append(out, output{r: p.stdout})
	}
	if p.stderr != nil {
		out = append(out, output{r: p.stderr, stderr: true})
	}
	return out
}

// closeChild closes this side's copies of the process's ends.
func (p *processIO) closeChild() {
	seen := map[*os.File]bool{}
	for _, f := range append(p.child[:], p.extra...) {
		if f != nil && !seen[f] {
			seen[f] = true
			f.Close()
		}
	}
}

func (p *processIO) closeParent() {
	for _, f := range []*os.File{p.stdin, p.stdout, p.stderr, p.tty} {
		if f != nil {
			f.Close()
		}
	}
}

// openPTY makes a terminal pair from the guest's devpts.
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

func setWinsize(f *os.File, r vmproto.Resize) {
	_ = unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: r.Height, Col: r.Width})
}

// pump sends the container's output as Log frames (and to attached
// clients) until the process side closes. A pty reports EIO then.
func (c *container) pump(s *server, r *os.File, stderr bool) {
	defer r.Close()
	buf := make([]byte, vmproto.MaxLogData(len(c.spec.ID)))
	for {
		n, err := r.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			s.out.push(vmproto.KindLog, vmproto.Log{ID: c.spec.ID, Stderr: stderr, Time: nowUTC(), Data: data}.Encode())
			c.toViewers(data, stderr)
		}
		if err != nil {
			return // EOF, or EIO from a pty whose last holder closed it
		}
	}
}
