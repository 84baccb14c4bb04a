package microvm

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// probeTimeout bounds the KVM probe: a guest that works says hello well
// within it; one that cannot boot (kvm_pvm hosts, nested setups without
// the features a stock kernel needs) hangs or dies.
const probeTimeout = 8 * time.Second

// ProbeAccel picks the accelerator: KVM when /dev/kvm opens and a guest
// booted with it says hello, else TCG. It boots one small VM under dir
// and leaves nothing behind.
func ProbeAccel(ctx context.Context, vmm VMM, kernel, initrd, kernelArgs, dir string) (Accel, error) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG, nil
	}
	f.Close()
	vm := VM{
		Dir: filepath.Join(dir, "kvm-probe"), Kernel: kernel, Initrd: initrd,
		Cmdline: "console=ttyS0 quiet panic=-1 reboot=t " + kernelArgs, VCPUs: 1, MemoryMiB: 256, Accel: AccelKVM,
	}
	defer os.RemoveAll(vm.Dir)
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	pid, err := vmm.Start(ctx, vm)
	if err != nil {
		return AccelTCG, nil
	}
	defer func() { killVM(pid); waitGone(pid, vm.Dir, 5*time.Second) }()
	nc, err := vmm.Dial(ctx, vm)
	if err != nil {
		return AccelTCG, nil
	}
	conn := vmproto.NewConn(nc)
	defer conn.Close()
	if _, err := hello(ctx, conn); err != nil {
		return AccelTCG, nil
	}
	return AccelKVM, nil
}
