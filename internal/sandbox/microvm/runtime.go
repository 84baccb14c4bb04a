// Package microvm is a sandbox.Runtime that runs each pod in its own
// microVM: its own guest kernel, with fargo-init as PID 1 running the
// pod's containers inside (namespaces and cgroups of the guest). The host
// side here boots the VM through a VMM driver (qemu/), gives it the pod's
// network (a tap redirected to the pod's veth), one read-only disk per
// image and a scratch disk for writable layers and emptyDirs, and talks
// to fargo-init with vmproto over the VM's channel.
//
// On disk, under Config.Root:
//
//	pods/<uid>/vm.json        the pod's record (written once the VM runs)
//	pods/<uid>/scratch.img    sparse ext4: container upper dirs, emptyDirs
//	pods/<uid>/vm/            the VMM's files: pid, channel socket, console log
//
// The VMM process outlives the agent; a restarted agent reconnects to the
// channel and adopts the pod, as the OCI tier adopts shims.
package microvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Config configures a Runtime.
type Config struct {
	// Root is the state directory, e.g. /var/lib/fargo/microvm.
	Root string
	VMM  VMM
	// Accel is what VMs run with (Probe picks it at agent start).
	Accel Accel
	// Kernel is the guest vmlinux and Initrd the initramfs with
	// fargo-init (internal/guestkernel).
	Kernel, Initrd string
	// KernelArgs are added to the guest's command line (tsc_early_khz).
	KernelArgs string
	// ImageDisk returns the read-only disk of an image's layers, built
	// once per image and shared by every VM (internal/vmdisk).
	ImageDisk func(ctx context.Context, layers []string) (string, error)
	// ScratchDisk makes a pod's sparse, formatted scratch disk.
	ScratchDisk func(path string, sizeBytes int64) error
	// Shim is fargo-shim, whose vm-relay role holds each VM's channel
	// (internal/vmrelay).
	Shim string
	// BootTimeout bounds the wait for fargo-init's hello; default 60 s.
	BootTimeout time.Duration
}

// DefaultEphemeralStorage is a pod's scratch disk when the pod asks for
// none: Fargate's 20 GiB.
const DefaultEphemeralStorage = 20 << 30

// Runtime runs pods in microVMs. Use New.
type Runtime struct {
	cfg   Config
	exits chan sandbox.ContainerStatus

	mu   sync.Mutex
	pods map[string]*pod
}

var _ sandbox.Runtime = (*Runtime)(nil)

// New checks cfg. Pods an earlier Runtime left running are adopted when
// first used.
func New(cfg Config) (*Runtime, error) {
	switch {
	case cfg.Root == "":
		return nil, errors.New("microvm: Config.Root is empty: set the state directory")
	case cfg.VMM == nil:
		return nil, errors.New("microvm: Config.VMM is nil: pass a VMM driver (qemu.Driver)")
	case cfg.Kernel == "" || cfg.Initrd == "":
		return nil, errors.New("microvm: no guest kernel or initramfs: run guestkernel.Ensure and BuildInitramfs, or pass --guest-kernel")
	case cfg.ImageDisk == nil || cfg.ScratchDisk == nil:
		return nil, errors.New("microvm: Config.ImageDisk and ScratchDisk are required (internal/vmdisk)")
	case cfg.Shim == "":
		return nil, errors.New("microvm: Config.Shim is empty: pass fargo-shim, whose vm-relay holds each VM's channel")
	}
	if cfg.Accel == "" {
		cfg.Accel = AccelTCG
	}
	if err := os.MkdirAll(filepath.Join(cfg.Root, "pods"), 0o700); err != nil {
		return nil, fmt.Errorf("microvm: %w", err)
	}
	return &Runtime{cfg: cfg, exits: make(chan sandbox.ContainerStatus, 1024), pods: map[string]*pod{}}, nil
}

// Accel is what this Runtime's VMs run with.
func (r *Runtime) Accel() Accel { return r.cfg.Accel }

// Exits delivers container exits as the guests report them.
func (r *Runtime) Exits() <-chan sandbox.ContainerStatus { return r.exits }

// Pods lists the pods whose VM record exists.
func (r *Runtime) Pods(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.cfg.Root, "pods"))
	if err != nil {
		return nil, fmt.Errorf("microvm: %w", err)
	}
	var uids []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(r.cfg.Root, "pods", e.Name(), recordFile)); err == nil {
			uids = append(uids, e.Name())
		}
	}
	sort.Strings(uids)
	return uids, nil
}

func (r *Runtime) podDir(uid string) string { return filepath.Join(r.cfg.Root, "pods", uid) }

// podFor is the pod of uid, adopting it from its record after an agent
// restart; sandbox.ErrNotFound when it has no VM.
func (r *Runtime) podFor(ctx context.Context, uid string) (*pod, error) {
	r.mu.Lock()
	p, ok := r.pods[uid]
	r.mu.Unlock()
	if ok {
		return p, nil
	}
	rec, err := readRecord(r.podDir(uid))
	if err != nil {
		return nil, err
	}
	p = r.newPod(uid, rec)
	r.mu.Lock()
	if have, ok := r.pods[uid]; ok {
		p = have
	} else {
		r.pods[uid] = p
	}
	r.mu.Unlock()
	return p, nil
}

func (r *Runtime) forget(uid string) {
	r.mu.Lock()
	delete(r.pods, uid)
	r.mu.Unlock()
}

// DisksInUse are the image disks of the VMs this Runtime's pods have.
func (r *Runtime) DisksInUse(ctx context.Context) (map[string]bool, error) {
	uids, err := r.Pods(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, uid := range uids {
		rec, err := readRecord(r.podDir(uid))
		if err != nil {
			continue // going as we look
		}
		for _, d := range rec.VM.Disks {
			if d.ReadOnly {
				used[d.Path] = true
			}
		}
	}
	return used, nil
}

// CloseConnections drops the channels to every VM, as an agent that exits
// does; the VMs run on for the next Runtime to adopt.
func (r *Runtime) CloseConnections() {
	r.mu.Lock()
	pods := make([]*pod, 0, len(r.pods))
	for _, p := range r.pods {
		pods = append(pods, p)
	}
	r.mu.Unlock()
	for _, p := range pods {
		p.mu.Lock()
		conn := p.conn
		p.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		p.closeLogs()
	}
}
