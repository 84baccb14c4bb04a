package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/shim"
)

// A pod's IPC and UTS namespaces, which its containers share, are pinned
// by bind mounts of their nsfs files at pods/<uid>/ns/{ipc,uts}, as
// `ip netns` pins a network namespace and CRI-O pins a pod's namespaces
// when it runs no infra container. No process holds them: a pod costs no
// pause process (a program's start, its memory, a process per pod to
// find again after a crash), and nothing can die and take them along.
// They go when RemovePod unmounts what is under the pod's directory and
// the last container leaves them.

// podNamespaceKinds are the namespaces pinned per pod, by their names
// under /proc/PID/ns.
var podNamespaceKinds = []string{"ipc", "uts"}

func (r *Runtime) namespaceDir(uid string) string {
	return filepath.Join(r.podDir(uid), "ns")
}

// podNamespaces returns the paths containers join for the pod's IPC and
// UTS namespaces: its pinned ones, or, for a pod an earlier agent made,
// those of its running pause process.
func (r *Runtime) podNamespaces(uid string) (map[string]string, error) {
	dir := r.namespaceDir(uid)
	if !pinned(dir) {
		p, ok := r.readPause(uid)
		if !ok {
			return nil, fmt.Errorf("oci: pod %s: its namespaces are gone: call CreatePod again", uid)
		}
		dir = procNamespaces(p.Pid)
	}
	paths := map[string]string{}
	for _, kind := range podNamespaceKinds {
		paths[kind] = filepath.Join(dir, kind)
	}
	return paths, nil
}

// procNamespaces is the directory of process pid's namespace files.
func procNamespaces(pid int) string {
	return fmt.Sprintf("/proc/%d/ns", pid)
}

// pinned says whether each of the pod's namespaces is pinned in dir.
func pinned(dir string) bool {
	for _, kind := range podNamespaceKinds {
		var fs unix.Statfs_t
		if err := unix.Statfs(filepath.Join(dir, kind), &fs); err != nil || fs.Type != unix.NSFS_MAGIC {
			return false
		}
	}
	return true
}

// ensureNamespaces pins new IPC and UTS namespaces in dir, the UTS one
// with hostname, unless both are pinned there.
func ensureNamespaces(dir, hostname string) error {
	if pinned(dir) {
		return nil
	}
	// One pinned without the other is a set-up cut short: start again.
	if err := unpinNamespaces(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("oci: create namespace dir: %w", err)
	}
	err := shim.InNewNamespaces(unix.CLONE_NEWIPC|unix.CLONE_NEWUTS, func() error { return pinHere(dir, hostname) })
	if err != nil {
		return errors.Join(fmt.Errorf("oci: pin the pod's namespaces: %w", err), unpinNamespaces(dir))
	}
	return nil
}

// pinHere sets the hostname in this thread's (new) UTS namespace and
// bind-mounts its IPC and UTS namespaces at dir/<kind>.
func pinHere(dir, hostname string) error {
	if hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", hostname, err)
		}
	}
	for _, kind := range podNamespaceKinds {
		target := filepath.Join(dir, kind)
		if err := os.WriteFile(target, nil, 0o444); err != nil {
			return err
		}
		if err := unix.Mount("/proc/thread-self/ns/"+kind, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s namespace at %s: %w", kind, target, err)
		}
	}
	return nil
}

// unpinNamespaces unmounts whatever of the pod's namespaces is pinned in
// dir; a namespace goes once no container is in it either.
func unpinNamespaces(dir string) error {
	var errs []error
	for _, kind := range podNamespaceKinds {
		errs = append(errs, unmount(filepath.Join(dir, kind)))
	}
	return errors.Join(errs...)
}
