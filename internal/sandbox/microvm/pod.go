package microvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// pod is one pod's VM as this Runtime knows it.
type pod struct {
	r   *Runtime
	uid string
	dir string

	mu   sync.Mutex
	rec  record
	conn *vmproto.Conn
	logs map[string]*containerLog
	// synced are the volumes sent to the guest, by volume name.
	synced map[string]syncedVolume
	// adding is held while an image is added to the running guest.
	adding sync.Mutex
}

func (r *Runtime) newPod(uid string, rec record) *pod {
	return &pod{
		r: r, uid: uid, dir: r.podDir(uid), rec: rec,
		logs: map[string]*containerLog{}, synced: map[string]syncedVolume{},
	}
}

// CreatePod boots the pod's VM with its images' disks, a scratch disk and
// its network, and sets the guest up. A pod whose VM runs is kept.
func (r *Runtime) CreatePod(ctx context.Context, cfg sandbox.PodConfig) error {
	if p, err := r.podFor(ctx, cfg.UID); err == nil {
		if p.alive() {
			_, err := p.connect(ctx)
			return err
		}
		// The VM died (host reboot, killed): boot a new one below.
		r.forget(cfg.UID)
	}
	dir := r.podDir(cfg.UID)
	start := time.Now()
	rec, tap, err := r.prepare(ctx, dir, cfg)
	if err != nil {
		return err
	}
	defer tap.File.Close() // QEMU has its own copy
	prepared := time.Since(start)
	pid, err := r.cfg.VMM.Start(ctx, rec.VM)
	if err != nil {
		return fmt.Errorf("microvm: %w", err)
	}
	if err := r.startRelay(rec.VM); err != nil {
		killVM(pid)
		return err
	}
	launched := time.Since(start)
	rec.Pid, rec.Created = pid, start
	if err := writeRecord(dir, rec); err != nil {
		killVM(pid)
		return fmt.Errorf("microvm: %w", err)
	}
	p := r.newPod(cfg.UID, rec)
	r.mu.Lock()
	r.pods[cfg.UID] = p
	r.mu.Unlock()
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	booted := time.Since(start) // fargo-init has said hello
	setup := vmproto.Setup{
		Hostname: cfg.Hostname, Address: tap.Addr.String(), Gateway: tap.Gateway.String(), MTU: tap.MTU,
		Files: cfg.Files, ScratchSerial: scratchSerial, MemoryBytes: cfg.MemoryBytes,
		Now: time.Now().UnixNano(),
	}
	if err := conn.Call(ctx, vmproto.OpSetup, setup, nil); err != nil {
		return fmt.Errorf("microvm: set up the guest: %w", err)
	}
	logBoot(dir, bootTimes{prepared, launched, booted, time.Since(start)})
	return nil
}

// prepare makes the pod's directory, disks and tap, and the VM to boot.
func (r *Runtime) prepare(ctx context.Context, dir string, cfg sandbox.PodConfig) (record, network.Tap, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return record{}, network.Tap{}, fmt.Errorf("microvm: %w", err)
	}
	rec := record{Namespace: cfg.Namespace, Name: cfg.Name, Images: map[string]string{}, Containers: map[string]containerRecord{}}
	disks, err := r.disks(ctx, dir, cfg, rec.Images)
	if err != nil {
		return record{}, network.Tap{}, err
	}
	tap, err := network.TapForVM(cfg.NetnsPath)
	if err != nil {
		return record{}, network.Tap{}, err
	}
	rec.VM = VM{
		Dir: filepath.Join(dir, "vm"), Kernel: r.cfg.Kernel, Initrd: r.cfg.Initrd,
		Cmdline: r.cmdline(), VCPUs: vcpus(cfg.MilliCPU), MemoryMiB: memoryMiB(cfg.MemoryBytes),
		Accel: r.cfg.Accel, Disks: disks, Tap: tap.File, MAC: tap.MAC,
	}
	return rec, tap, nil
}

// disks are the scratch disk and one read-only disk per distinct image.
func (r *Runtime) disks(ctx context.Context, dir string, cfg sandbox.PodConfig, serials map[string]string) ([]Disk, error) {
	size := cfg.EphemeralStorageBytes
	if size <= 0 {
		size = DefaultEphemeralStorage
	}
	scratch := filepath.Join(dir, "scratch.img")
	if err := r.cfg.ScratchDisk(scratch, size); err != nil {
		return nil, fmt.Errorf("microvm: scratch disk: %w", err)
	}
	disks := []Disk{{Path: scratch, Serial: scratchSerial}}
	for _, layers := range cfg.Images {
		key := layersKey(layers)
		if _, ok := serials[key]; ok {
			continue
		}
		path, err := r.cfg.ImageDisk(ctx, layers)
		if err != nil {
			return nil, fmt.Errorf("microvm: image disk: %w", err)
		}
		serials[key] = serialFor(key)
		disks = append(disks, Disk{Path: path, Serial: serials[key], ReadOnly: true})
	}
	return disks, nil
}

func (r *Runtime) cmdline() string {
	// Each saves boot time, most under TCG: no crypto self-tests (about
	// 200 ms), one serial port to probe, no timer checks against a TSC the
	// host vouches for, expedited RCU grace periods.
	args := "console=ttyS0 quiet loglevel=3 pci=off panic=-1 reboot=t random.trust_cpu=on fargo.transport=serial" +
		" cryptomgr.notests 8250.nr_uarts=1 no_timer_check tsc=reliable rcupdate.rcu_expedited=1"
	if r.cfg.KernelArgs != "" {
		args += " " + r.cfg.KernelArgs
	}
	return args
}

// vcpus is the provisioned CPU in whole vCPUs (0.25 vCPU still needs one).
func vcpus(milliCPU int64) int { return int(max((milliCPU+999)/1000, 1)) }

// memoryMiB is the guest's memory: the pod's provisioned memory.
func memoryMiB(bytes int64) int { return int(max(bytes>>20, 128)) }

// startedAt is when the pod's VM was made.
func (p *pod) startedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rec.Created
}

// alive says whether the pod's VMM process still runs.
func (p *pod) alive() bool {
	p.mu.Lock()
	pid, dir := p.rec.Pid, p.rec.VM.Dir
	p.mu.Unlock()
	return vmRunning(pid, dir)
}

// vmRunning checks pid is still our VMM (its command line names the VM's
// directory), not a process that reused the number.
func vmRunning(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), dir)
}

func killVM(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// RemovePod powers the VM off (killing it if it does not go), and removes
// its disks and files. The tap went with the VM; the netns is the
// network's to remove.
func (r *Runtime) RemovePod(ctx context.Context, uid string) error {
	p, err := r.podFor(ctx, uid)
	if errors.Is(err, sandbox.ErrNotFound) {
		return os.RemoveAll(r.podDir(uid))
	}
	if err != nil {
		return err
	}
	p.stopVM(ctx)
	r.forget(uid)
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("microvm: remove %s: %w", p.dir, err)
	}
	return nil
}

// stopVM asks the guest to power off, then kills the VMM if it is still
// there after a few seconds.
func (p *pod) stopVM(ctx context.Context) {
	p.mu.Lock()
	pid, dir, conn := p.rec.Pid, p.rec.VM.Dir, p.conn
	p.mu.Unlock()
	if conn != nil && vmRunning(pid, dir) {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = conn.Call(sctx, vmproto.OpShutdown, vmproto.Shutdown{}, nil)
		cancel()
		waitGone(pid, dir, 3*time.Second)
	}
	if vmRunning(pid, dir) {
		killVM(pid)
		waitGone(pid, dir, 5*time.Second)
	}
	if conn != nil {
		conn.Close()
	}
	p.closeLogs()
}

func waitGone(pid int, dir string, d time.Duration) {
	deadline := time.Now().Add(d)
	for vmRunning(pid, dir) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// bootTimes are when, from the start of CreatePod, the disks and tap were
// ready, the VMM ran, fargo-init said hello and the guest was set up.
type bootTimes struct{ prepared, launched, hello, setup time.Duration }

// logBoot notes the boot's times in the pod's boot.txt (milliseconds),
// for the benchmark's split of pod start.
func logBoot(dir string, t bootTimes) {
	_ = os.WriteFile(filepath.Join(dir, "boot.txt"), fmt.Appendf(nil, "prepared %d\nlaunched %d\nhello %d\nsetup %d\n",
		t.prepared.Milliseconds(), t.launched.Milliseconds(), t.hello.Milliseconds(), t.setup.Milliseconds()), 0o600)
}

// Sweep kills every VM a Runtime on root left and removes its files,
// without the guest's help (`fargo down`, `fargo agent cleanup`). It
// returns the pods' UIDs.
func Sweep(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "pods"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("microvm: %w", err)
	}
	var uids []string
	for _, e := range entries {
		dir := filepath.Join(root, "pods", e.Name())
		if rec, err := readRecord(dir); err == nil && vmRunning(rec.Pid, rec.VM.Dir) {
			killVM(rec.Pid)
			waitGone(rec.Pid, rec.VM.Dir, 5*time.Second)
		}
		if err := os.RemoveAll(dir); err != nil {
			return uids, fmt.Errorf("microvm: remove %s: %w", dir, err)
		}
		uids = append(uids, e.Name())
	}
	return uids, nil
}
