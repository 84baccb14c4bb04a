// Package oci is a sandbox.Runtime that runs each container with an OCI
// runtime binary (crun, runc or runsc/gVisor). A pod is a cgroup sized to
// its provisioned CPU and memory, IPC and UTS namespaces pinned by bind
// mounts (no process holds them), and a directory with its files;
// each container attempt is an overlay root filesystem, an OCI bundle and
// a fargo-shim process that owns its output and exit status, so that
// containers outlive the agent and a restarted agent adopts them.
//
// On disk, under Config.Root:
//
//	pods/<uid>/pod.json            the pod's record (written last by CreatePod)
//	pods/<uid>/ns/{ipc,uts}        the pod's namespaces (nsfs bind mounts)
//	pods/<uid>/pause.json          an earlier agent's pause process, if any
//	pods/<uid>/files/              /etc/hosts, /etc/hostname, /etc/resolv.conf
//	pods/<uid>/shm/                the pod's /dev/shm (tmpfs), shared by its containers
//	pods/<uid>/containers/<id>/    state.json, exit.json (by the shim), final.json,
//	                               shim.log, attach.sock (the shim's attach socket),
//	                               bundle/{config.json,rootfs}, upper/, work/
package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Config configures a Runtime.
type Config struct {
	// Root is the state directory, e.g. /var/lib/fargo-agent/sandboxes.
	Root string
	// Runtime is "runc" (default), "crun" or "runsc".
	Runtime string
	// RuntimePath is the runtime binary; default: Runtime looked up in PATH.
	RuntimePath string
	// RuntimeRoot is the runtime's --root state dir; default Root/<runtime>-state.
	RuntimeRoot string
	// ShimPath is fargo-shim; default: next to os.Executable(), then PATH.
	ShimPath string
	// CgroupParent is the cgroup under which pods' cgroups go; default "fargo".
	CgroupParent string
}

// Runtime runs pods with an OCI runtime. Use New.
type Runtime struct {
	cfg     Config
	cgroups *cgroupLayout
	oci     ociRuntime
	exits   chan sandbox.ContainerStatus

	mu       sync.Mutex
	podLocks map[string]*sync.RWMutex
	// delivered are the attempts whose exit went out on Exits.
	delivered map[string]bool
	// adopted are the running attempts this Runtime has no shim process
	// of (started by an earlier agent, or their shim was killed); poller
	// says whether pollAdopted runs for them.
	adopted map[string]adoptedContainer
	poller  bool
}

var _ sandbox.Runtime = (*Runtime)(nil)

// exitsBuffer is how many exits wait for a reader before new ones are
// dropped (the node agent also polls Containers, so none is lost).
const exitsBuffer = 1024

// New checks the configuration and the host, and adopts the containers
// an earlier Runtime on the same Root left running.
func New(cfg Config) (*Runtime, error) {
	if cfg.Root == "" {
		return nil, errors.New("oci: Config.Root is empty: set the state directory")
	}
	if cfg.Runtime == "" {
		cfg.Runtime = "runc"
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "fargo"
	}
	cfg.CgroupParent = strings.Trim(cfg.CgroupParent, "/")
	if cfg.RuntimeRoot == "" {
		cfg.RuntimeRoot = filepath.Join(cfg.Root, cfg.Runtime+"-state")
	}
	var err error
	if cfg.ShimPath, err = findShim(cfg.ShimPath); err != nil {
		return nil, err
	}
	if cfg.RuntimePath == "" {
		if cfg.RuntimePath, err = exec.LookPath(cfg.Runtime); err != nil {
			return nil, fmt.Errorf("oci: runtime %s not found in PATH: install it or set RuntimePath", cfg.Runtime)
		}
	}
	cg, err := detectCgroups()
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	oci, err := newOCIRuntime(cfg, cg)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(cfg.Root, "pods"), cfg.RuntimeRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("oci: create state dir: %w", err)
		}
	}
	r := &Runtime{
		cfg:       cfg,
		cgroups:   cg,
		oci:       oci,
		exits:     make(chan sandbox.ContainerStatus, exitsBuffer),
		podLocks:  map[string]*sync.RWMutex{},
		delivered: map[string]bool{},
		adopted:   map[string]adoptedContainer{},
	}
	if err := r.adoptAll(); err != nil {
		return nil, err
	}
	return r, nil
}

// findShim returns the fargo-shim binary to use.
func findShim(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("oci: shim %s: %w: build cmd/fargo-shim there or fix ShimPath", path, err)
		}
		return path, nil
	}
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "fargo-shim")
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	p, err := exec.LookPath("fargo-shim")
	if err != nil {
		return "", errors.New("oci: fargo-shim not found beside the executable or in PATH: install it (go build ./cmd/fargo-shim) or set ShimPath")
	}
	return p, nil
}

// Exits delivers the status of each container attempt once it exits.
func (r *Runtime) Exits() <-chan sandbox.ContainerStatus { return r.exits }

// Pods lists the UIDs of the pods with a directory under Root.
func (r *Runtime) Pods(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.cfg.Root, "pods"))
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, e := range entries {
		if e.IsDir() {
			uids = append(uids, e.Name())
		}
	}
	sort.Strings(uids)
	return uids, nil
}

// podLock returns the lock of one pod: creating and removing the pod take
// it exclusively, work on its containers shares it.
func (r *Runtime) podLock(uid string) *sync.RWMutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.podLocks[uid]
	if l == nil {
		l = &sync.RWMutex{}
		r.podLocks[uid] = l
	}
	return l
}

func (r *Runtime) podDir(uid string) string { return filepath.Join(r.cfg.Root, "pods", uid) }

func (r *Runtime) containerDir(uid, id string) string {
	return filepath.Join(r.podDir(uid), "containers", id)
}

// podCgroup is the pod's cgroup path, the same in every hierarchy.
func (r *Runtime) podCgroup(uid string) string {
	return "/" + r.cfg.CgroupParent + "/pod-" + uid
}

// validName rejects pod UIDs and container IDs that would escape Root.
func validName(kind, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("oci: invalid %s %q", kind, s)
	}
	return nil
}
