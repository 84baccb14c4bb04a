package guestinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// container is one attempt in the guest.
type container struct {
	spec   vmproto.Start
	dir    string // /run/fargo/containers/<id>
	root   string
	cgroup string
	entry  entrySpec

	mu     sync.Mutex
	status vmproto.ContainerStatus
	stdin  *os.File // the write end (or the pty), while Stdin
	tty    *os.File
	viewer map[*vmproto.Stream]attachWants
	done   chan struct{} // closed once exited and its output sent
}

// start runs a new container attempt.
func (s *server) start(b vmproto.Start) (vmproto.ContainerStatus, error) {
	s.mu.Lock()
	setUp := s.setup != nil
	_, exists := s.containers[b.ID]
	s.mu.Unlock()
	switch {
	case !setUp:
		return vmproto.ContainerStatus{}, errNoSetup
	case exists:
		return vmproto.ContainerStatus{}, fmt.Errorf("container %s exists", b.ID)
	case len(b.Args) == 0:
		return vmproto.ContainerStatus{}, errors.New("no command specified")
	}
	c := &container{spec: b, dir: filepath.Join(containerDir, b.ID), viewer: map[*vmproto.Stream]attachWants{}, done: make(chan struct{})}
	if err := c.prepare(s); err != nil {
		c.cleanup()
		return vmproto.ContainerStatus{}, err
	}
	if err := c.run(s); err != nil {
		c.cleanup()
		return vmproto.ContainerStatus{}, err
	}
	s.mu.Lock()
	s.containers[b.ID] = c
	s.mu.Unlock()
	return c.snapshot(), nil
}

// prepare makes the root, the cgroup and the process's identity.
func (c *container) prepare(s *server) error {
	b := c.spec
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	root, err := s.makeRootfs(b, c.dir)
	c.root = root
	if err != nil {
		return err
	}
	if c.cgroup, err = makeCgroup(b); err != nil {
		return err
	}
	for k, v := range b.Security.Sysctls {
		_ = os.WriteFile("/proc/sys/"+strings.ReplaceAll(k, ".", "/"), []byte(v), 0)
	}
	uid, gid, groups, home, err := resolveUser(root, b.User)
	if err != nil {
		return err
	}
	caps, err := capSet(b.Security.AddCapabilities, b.Security.DropCapabilities)
	if err != nil {
		return err
	}
	c.entry = entrySpec{
		Root: root, Cgroup: c.cgroup, Dir: b.WorkingDir, Args: b.Args, Env: withHome(b.Env, home),
		UID: uid, GID: gid, Groups: append(groups, b.Security.SupplementalGroups...),
		Caps: caps, NoNewPrivs: b.Security.NoNewPrivileges,
	}
	return nil
}

func makeCgroup(b vmproto.Start) (string, error) {
	dir := filepath.Join(podCgroup, b.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	if b.MemoryLimitBytes > 0 {
		if err := os.WriteFile(dir+"/memory.max", []byte(strconv.FormatInt(b.MemoryLimitBytes, 10)), 0); err != nil {
			return dir, fmt.Errorf("memory limit: %w", err)
		}
		_ = os.WriteFile(dir+"/memory.swap.max", []byte("0"), 0)
	}
	if b.MilliCPULimit > 0 {
		quota := max(b.MilliCPULimit*100, 1000) // µs per 100 ms period
		_ = os.WriteFile(dir+"/cpu.max", []byte(fmt.Sprintf("%d 100000", quota)), 0)
	}
	return dir, nil
}

// run starts the process with its stdio and the goroutines that carry
// its output and its end.
func (c *container) run(s *server) error {
	pio, err := newProcessIO(c.spec.TTY, c.spec.Stdin, true, true)
	if err != nil {
		return err
	}
	pid, wait, err := startEntry(c.entry, pio.child, c.spec.TTY, true)
	pio.closeChild()
	if err != nil {
		pio.closeParent()
		return err
	}
	c.stdin, c.tty = pio.stdin, pio.tty
	c.status = vmproto.ContainerStatus{ID: c.spec.ID, Name: c.spec.Name, Attempt: c.spec.Attempt,
		State: vmproto.StateRunning, Pid: pid, StartedAt: time.Now()}
	var pumps sync.WaitGroup
	for _, o := range pio.outputs() {
		pumps.Go(func() { c.pump(s, o.r, o.stderr) })
	}
	go c.await(s, wait, &pumps)
	return nil
}

// startEntry starts fargo-init as the container's entry with spec and
// returns once the command was exec'd, or its error. A container's first
// process (newPID) starts a PID namespace of its own, as with any container
// runtime: it is PID 1 there, sees only its container's processes, and
// the kernel ends them all when it exits.
func startEntry(spec entrySpec, stdio [3]*os.File, tty, newPID bool) (int, <-chan unix.WaitStatus, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return 0, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return 0, nil, err
	}
	defer errR.Close()
	attr := &syscall.ProcAttr{
		Env:   []string{},
		Files: []uintptr{stdio[0].Fd(), stdio[1].Fd(), stdio[2].Fd(), specR.Fd(), errW.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: tty, Ctty: 0},
	}
	if newPID {
		attr.Sys.Cloneflags = syscall.CLONE_NEWPID
	}
	if spec.JoinPid != 0 {
		attr.Sys.Setctty = false // the process that joins the namespace takes the terminal
	}
	pid, wait, err := startProcess("/proc/self/exe", []string{"fargo-init", EntryArg}, attr)
	specR.Close()
	errW.Close()
	if err != nil {
		specW.Close()
		return 0, nil, fmt.Errorf("start: %w", err)
	}
	_ = json.NewEncoder(specW).Encode(spec)
	specW.Close()
	msg, _ := io.ReadAll(errR)
	if len(msg) > 0 {
		<-wait
		return 0, nil, errors.New(string(msg))
	}
	return pid, wait, nil
}

// await records the exit once the process ended and its output is sent.
func (c *container) await(s *server, wait <-chan unix.WaitStatus, pumps *sync.WaitGroup) {
	ws := <-wait
	finished := time.Now()
	// Without a PID namespace nothing else ends the container's other
	// processes when its main one goes; they would keep its output open.
	_ = os.WriteFile(c.cgroup+"/cgroup.kill", []byte("1"), 0)
	pumps.Wait()
	c.mu.Lock()
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
	}
	code := exitCode(ws)
	c.status.State, c.status.FinishedAt, c.status.ExitCode = vmproto.StateExited, finished, code
	c.status.Reason = exitReason(c.cgroup, code)
	c.status.TerminationMessage = terminationMessage(c.spec.ID)
	st := c.status
	viewers := c.viewer
	c.viewer = map[*vmproto.Stream]attachWants{}
	c.mu.Unlock()
	for v := range viewers {
		_ = v.SendJSON(vmproto.KindExit, vmproto.Exit{Code: code})
	}
	ev, _ := json.Marshal(vmproto.Event{Exited: &st})
	s.out.push(vmproto.KindEvent, ev)
	close(c.done)
}

func exitReason(cgroup string, code int) string {
	b, _ := os.ReadFile(cgroup + "/memory.events")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return "OOMKilled"
		}
	}
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// terminationMessage is the end of the attempt's termination-log file.
func terminationMessage(id string) string {
	b, err := os.ReadFile(filepath.Join(scratchDir, "containers", id, "termination-log"))
	if err != nil {
		return ""
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func (c *container) snapshot() vmproto.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// cleanup removes what prepare made.
func (c *container) cleanup() {
	unmountUnder(c.dir)
	_ = os.RemoveAll(c.dir)
	_ = os.RemoveAll(filepath.Join(scratchDir, "containers", c.spec.ID))
	if c.cgroup != "" {
		_ = os.Remove(c.cgroup)
	}
}

// list is every attempt not removed.
func (s *server) list() []vmproto.ContainerStatus {
	s.mu.Lock()
	cs := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	out := make([]vmproto.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.snapshot())
	}
	return out
}

// remove forgets an exited attempt and removes its root and cgroup.
func (s *server) remove(id string) error {
	c, err := s.container(id)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
	default:
		return fmt.Errorf("container %s is running: stop it first", id)
	}
	c.cleanup()
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
	return nil
}
