package guestinit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// EntryArg makes fargo-init the first step of a container process: it
// reads an entrySpec on fd 3, becomes the container (cgroup, root, user,
// capabilities, limits) and execs its command. If that fails it writes
// the error on fd 4 and exits 127; fd 4 closing empty on exec tells the
// parent the command started.
const EntryArg = "--container-entry"

// entrySpec is what ContainerEntry needs.
type entrySpec struct {
	Root       string   `json:"root"`
	Cgroup     string   `json:"cgroup"`
	Dir        string   `json:"dir"`
	Args       []string `json:"args"`
	Env        []string `json:"env"`
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	Groups     []uint32 `json:"groups"`
	Caps       []uint   `json:"caps"`
	NoNewPrivs bool     `json:"noNewPrivs"`
	// JoinPid, for an exec, is the container's first process: the
	// command runs in its PID namespace (see joinAndRun).
	JoinPid int `json:"joinPid,omitempty"`
	// TTY makes the command's stdin its controlling terminal.
	TTY bool `json:"tty,omitempty"`
}

// Container processes start with at most these open files and
// processes, as the OCI tier gives them.
const (
	rlimitSoft = 1024
	rlimitHard = 65535
)

// ContainerEntry runs in the new process; it never returns.
func ContainerEntry() {
	// Capabilities and prctl settings are per thread: all of them and
	// the exec happen on this one.
	runtime.LockOSThread()
	errPipe := os.NewFile(4, "errors")
	unix.CloseOnExec(4)
	var spec entrySpec
	if err := json.NewDecoder(os.NewFile(3, "spec")).Decode(&spec); err != nil {
		entryFail(errPipe, fmt.Errorf("read spec: %w", err))
	}
	unix.Close(3)
	if spec.JoinPid != 0 {
		entryFail(errPipe, joinAndRun(spec, errPipe))
	}
	entryFail(errPipe, become(spec))
}

func entryFail(w *os.File, err error) {
	fmt.Fprint(w, err.Error())
	os.Exit(127)
}

// become turns this process into the container's and execs its command.
func become(s entrySpec) error {
	if os.Getpid() == 1 {
		// The container's first process, in its new PID namespace: its
		// /proc shows that namespace.
		if err := unix.Mount("proc", filepath.Join(s.Root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /proc: %w", err)
		}
	}
	if s.Cgroup != "" {
		if err := os.WriteFile(filepath.Join(s.Cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	for _, r := range []int{unix.RLIMIT_NOFILE, unix.RLIMIT_NPROC} {
		_ = unix.Setrlimit(r, &unix.Rlimit{Cur: rlimitSoft, Max: rlimitHard})
	}
	if err := unix.Chroot(s.Root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	dir := s.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.Chown(dir, int(s.UID), int(s.GID))
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir to %s: %w", dir, err)
	}
	path, err := lookPath(s.Args[0], s.Env)
	if err != nil {
		return err
	}
	if err := boundCapabilities(s.Caps); err != nil {
		return err
	}
	if err := setUser(s); err != nil {
		return err
	}
	if err := setCapabilities(s.Caps); err != nil {
		return err
	}
	if s.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return err
		}
	}
	err = syscall.Exec(path, s.Args, s.Env)
	return fmt.Errorf("exec: %q: %w", s.Args[0], err)
}

func setUser(s entrySpec) error {
	groups := make([]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = int(g)
	}
	// Keep the permitted set across setuid, for setCapabilities.
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(s.GID), int(s.GID), int(s.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", s.GID, err)
	}
	if err := syscall.Setresuid(int(s.UID), int(s.UID), int(s.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", s.UID, err)
	}
	return nil
}

// lookPath finds argv0 with the container's PATH, inside its root, and
// fails as runc does when it cannot.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		if _, err := os.Stat(argv0); err != nil {
			return "", fmt.Errorf("exec: %q: stat %s: no such file or directory", argv0, argv0)
		}
		return argv0, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, argv0)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", argv0)
}

// joinAndRun runs an exec's command in the container's PID namespace.
// setns into a PID namespace applies to the caller's children only, so
// this process joins, starts the command as its child (which becomes the
// container's process as usual) and passes on its end: exit code, or
// 128+signal. SIGTERM to this process kills the command (killExec): the
// usual Pdeathsig cannot serve, as the child, in another PID namespace,
// cannot see its parent.
func joinAndRun(s entrySpec, errPipe *os.File) error {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", s.JoinPid))
	if err != nil {
		return fmt.Errorf("the container's process is gone: %w", err)
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("join the container's PID namespace: %w", err)
	}
	ns.Close()
	child := s
	child.JoinPid = 0
	specR, specW, err := os.Pipe()
	if err != nil {
		return err
	}
	attr := &syscall.ProcAttr{
		Env:   []string{},
		Files: []uintptr{0, 1, 2, specR.Fd(), errPipe.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: s.TTY, Ctty: 0},
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"fargo-init", EntryArg}, attr)
	specR.Close()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	_ = json.NewEncoder(specW).Encode(child)
	specW.Close()
	errPipe.Close() // the child holds it until its exec
	go func() {
		<-term
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}()
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	if ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ws.ExitStatus())
	return nil
}
