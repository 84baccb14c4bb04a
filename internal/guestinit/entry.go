package guestinit

import (
	"encoding/json"
	"fmt"
	"os"
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
	entryFail(errPipe, become(spec))
}

func entryFail(w *os.File, err error) {
	fmt.Fprint(w, err.Error())
	os.Exit(127)
}

// become turns this process into the container's and execs its command.
func become(s entrySpec) error {
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
