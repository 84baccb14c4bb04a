package microvm

import (
	"context"
	"net"
	"os"
)

// VMM starts microVMs: one driver per VMM program (qemu/ today; a
// Firecracker or Cloud Hypervisor driver fits the same shape, as the VM
// keeps to devices they have too: virtio-blk, virtio-net, a serial or
// vsock channel, no PCI, no firmware).
type VMM interface {
	// Name is the VMM as a node reports it ("qemu").
	Name() string
	// Start launches vm and returns its process ID once the VMM runs; the
	// process outlives the caller (a restarted agent adopts it).
	Start(ctx context.Context, vm VM) (pid int, err error)
	// Channel is the unix socket where the VMM serves the guest's channel;
	// the guest's fargo-init speaks vmproto on it. It takes one client at
	// a time: the VM's relay (internal/vmrelay).
	Channel(vm VM) string
	// Dial connects to the channel directly (the accelerator probe).
	Dial(ctx context.Context, vm VM) (net.Conn, error)
	// ConsoleLog is the file the guest's console goes to, which errors
	// about a failed boot quote.
	ConsoleLog(vm VM) string
}

// Accel is how the VMM runs guest code.
type Accel string

const (
	AccelKVM Accel = "kvm" // hardware virtualisation
	AccelTCG Accel = "tcg" // QEMU's translator: no /dev/kvm needed, ~13× slower CPU
)

// VM is one microVM.
type VM struct {
	// Dir holds the VM's files: pid file, channel socket, console log.
	Dir string
	// Kernel is an uncompressed vmlinux (booted through PVH), Initrd the
	// initramfs with fargo-init, Cmdline the kernel's command line.
	Kernel, Initrd, Cmdline string
	VCPUs                   int
	MemoryMiB               int
	Accel                   Accel
	Disks                   []Disk
	// Tap is the network's tap queue (network.Tap.File) and MAC the
	// guest NIC's address; nil Tap for no network.
	Tap *os.File `json:"-"`
	MAC net.HardwareAddr
}

// Disk is a virtio-blk device; the guest finds it by Serial
// (/sys/block/vd*/serial).
type Disk struct {
	Path     string
	Serial   string
	ReadOnly bool
}
