// Package qemu drives QEMU's microvm machine (Debian's qemu-system-x86)
// as a microvm.VMM: no PCI, no firmware (the kernel boots through PVH),
// virtio-mmio devices found through ACPI, and the host ↔ guest channel
// on a virtio-serial port backed by a unix socket.
package qemu

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/sandbox/microvm"
	"github.com/fargo-dev/fargo/internal/vmproto"
	"github.com/fargo-dev/fargo/internal/vmrelay"
)

// Driver runs qemu-system-x86_64.
type Driver struct {
	// Binary is the QEMU program; default qemu-system-x86_64 from PATH.
	Binary string
	// TBSizeMiB bounds TCG's translation cache, which is most of QEMU's
	// own memory under TCG (QEMU's default is 1 GiB).
	TBSizeMiB int
	// TCGModel is the CPU TCG emulates; default Nehalem: x86-64-v2, which
	// today's distributions require, without AVX, which TCG emulates
	// slowly. It boots 100 ms sooner than "max" here (bench/RESULTS.md).
	TCGModel string
}

var _ microvm.VMM = (*Driver)(nil)

// Name is "qemu".
func (d *Driver) Name() string { return "qemu" }

func (d *Driver) binary() string {
	if d.Binary != "" {
		return d.Binary
	}
	return "qemu-system-x86_64"
}

// Version is QEMU's version, like 7.2.19.
func (d *Driver) Version() (string, error) {
	out, err := exec.Command(d.binary(), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("qemu: %s --version: %w (install the Debian package qemu-system-x86)", d.binary(), err)
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "version" && i+1 < len(f) {
			return strings.TrimSuffix(f[i+1], ","), nil
		}
	}
	return "", fmt.Errorf("qemu: cannot read a version from %q", out)
}

// maxSocketPath is what fits a unix socket address, with room to spare.
const maxSocketPath = 100

// Files in a VM's Dir.
const (
	pidFile     = "qemu.pid"
	channelSock = "channel.sock"
	consoleLog  = "console.log"
)

// Start runs QEMU daemonized: it returns once the VM exists.
func (d *Driver) Start(ctx context.Context, vm microvm.VM) (int, error) {
	if err := os.MkdirAll(vm.Dir, 0o700); err != nil {
		return 0, err
	}
	_ = os.Remove(filepath.Join(vm.Dir, channelSock))
	// Extra files become fds 3, 4, ...: the tap, then (for a long data
	// dir) the VM's directory, through which QEMU names its socket.
	var files []*os.File
	if vm.Tap != nil {
		files = append(files, vm.Tap)
	}
	sock := filepath.Join(vm.Dir, channelSock)
	if len(sock) >= maxSocketPath {
		dir, err := os.Open(vm.Dir)
		if err != nil {
			return 0, err
		}
		defer dir.Close()
		files = append(files, dir)
		sock = fmt.Sprintf("/proc/self/fd/%d/%s", 2+len(files), channelSock)
	}
	cmd := exec.CommandContext(ctx, d.binary(), d.args(vm, sock)...)
	cmd.ExtraFiles = files
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("qemu: start VM: %w: %s", err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(filepath.Join(vm.Dir, pidFile))
	if err != nil {
		return 0, fmt.Errorf("qemu: VM started but left no pid file: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// args is QEMU's command line for vm.
func (d *Driver) args(vm microvm.VM, sock string) []string {
	accel := "kvm"
	cpu := "host"
	if vm.Accel == microvm.AccelTCG {
		accel = fmt.Sprintf("tcg,tb-size=%d", max(d.TBSizeMiB, 32))
		cpu = d.TCGModel
		if cpu == "" {
			cpu = "Nehalem"
		}
	}
	a := []string{
		"-M", "microvm,acpi=on,x-option-roms=off,pit=off,pic=off",
		"-accel", accel, "-cpu", cpu,
		"-smp", strconv.Itoa(max(vm.VCPUs, 1)), "-m", strconv.Itoa(vm.MemoryMiB),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-daemonize", "-pidfile", filepath.Join(vm.Dir, pidFile),
		"-serial", "file:" + filepath.Join(vm.Dir, consoleLog),
		"-kernel", vm.Kernel, "-initrd", vm.Initrd, "-append", vm.Cmdline,
		"-device", "virtio-serial-device,max_ports=2",
		"-chardev", "socket,id=ch0,path=" + sock + ",server=on,wait=off",
		"-device", "virtserialport,chardev=ch0,name=" + vmproto.SerialPortName,
	}
	for i, disk := range vm.Disks {
		id := "d" + strconv.Itoa(i)
		drive := "id=" + id + ",file=" + disk.Path + ",format=raw,if=none,cache=unsafe,discard=unmap"
		if disk.ReadOnly {
			drive = "id=" + id + ",file=" + disk.Path + ",format=raw,if=none,readonly=on"
		}
		a = append(a, "-drive", drive, "-device", "virtio-blk-device,drive="+id+",serial="+disk.Serial)
	}
	if vm.Tap != nil {
		a = append(a, "-netdev", "tap,id=n0,fd=3", "-device", "virtio-net-device,netdev=n0,mac="+vm.MAC.String())
	}
	return a
}

// Channel is the VM's channel socket.
func (d *Driver) Channel(vm microvm.VM) string { return filepath.Join(vm.Dir, channelSock) }

// Dial connects to the VM's channel socket, waiting for QEMU to make it.
func (d *Driver) Dial(ctx context.Context, vm microvm.VM) (net.Conn, error) {
	return vmrelay.Dial(ctx, d.Channel(vm))
}

// ConsoleLog is where the guest's console goes, for errors that name it.
func (d *Driver) ConsoleLog(vm microvm.VM) string { return filepath.Join(vm.Dir, consoleLog) }
