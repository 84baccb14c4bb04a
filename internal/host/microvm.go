package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/guestkernel"
	"github.com/fargo-dev/fargo/internal/sandbox/microvm"
	"github.com/fargo-dev/fargo/internal/sandbox/microvm/qemu"
	"github.com/fargo-dev/fargo/internal/vmdisk"
)

// MicroVMConfig configures the microvm tier.
type MicroVMConfig struct {
	// GuestKernel is a vmlinux to boot; empty means Debian's
	// linux-image-cloud-amd64, fetched with apt once and cached.
	GuestKernel string
	// GuestInit is the fargo-init binary; empty means next to this
	// executable.
	GuestInit string
	// Accel is "auto" (KVM when a probe guest boots with it, else TCG),
	// "kvm" or "tcg".
	Accel string
	// CacheDir holds the guest kernel, initramfs and image disks, shared
	// by every host on the machine; default /var/cache/fargo.
	CacheDir string
}

// defaultVMCache is where guest kernels and image disks are kept.
const defaultVMCache = "/var/cache/fargo"

// vmTier is what pod-nodes of the microvm tier show of it.
type vmTier struct {
	accel  microvm.Accel
	kernel string // the guest kernel's release
	rt     *microvm.Runtime
	disks  string // the image disks' cache
}

// nodeInfo is info as a microvm pod-node reports it: the guest kernel,
// and the VMM with its accelerator (qemu://7.2.19+tcg).
func (v vmTier) nodeInfo(info corev1.NodeSystemInfo) corev1.NodeSystemInfo {
	info.KernelVersion = v.kernel
	info.ContainerRuntimeVersion += "+" + string(v.accel)
	return info
}

// newMicroVM makes the microvm tier's runtime: the guest kernel and
// initramfs, the VMM driver and its accelerator.
func newMicroVM(ctx context.Context, c Config) (*microvm.Runtime, vmTier, error) {
	m := c.MicroVM
	cache := m.CacheDir
	if cache == "" {
		cache = defaultVMCache
	}
	kernel, err := guestKernel(ctx, m.GuestKernel, filepath.Join(cache, "kernel"))
	if err != nil {
		return nil, vmTier{}, err
	}
	initBin, err := guestInit(m.GuestInit)
	if err != nil {
		return nil, vmTier{}, err
	}
	initrd, err := guestkernel.InitramfsPath(filepath.Join(cache, "initramfs"), kernel, initBin)
	if err != nil {
		return nil, vmTier{}, err
	}
	driver := &qemu.Driver{}
	args := kernelArgs()
	accel, err := chooseAccel(ctx, m.Accel, driver, kernel.Vmlinux, initrd, args, filepath.Join(c.DataDir, "microvm"))
	if err != nil {
		return nil, vmTier{}, err
	}
	disks := filepath.Join(cache, "disks")
	rt, err := microvm.New(microvm.Config{
		Root: filepath.Join(c.DataDir, "microvm"), VMM: driver, Accel: accel,
		Kernel: kernel.Vmlinux, Initrd: initrd, KernelArgs: args,
		ImageDisk: func(ctx context.Context, layers []string) (string, error) {
			return vmdisk.ImageDisk(ctx, disks, layers)
		},
		ScratchDisk: vmdisk.ScratchDisk,
		Shim:        shimPath(c.ShimPath),
	})
	return rt, vmTier{accel: accel, kernel: kernel.Version, rt: rt, disks: disks}, err
}

func guestKernel(ctx context.Context, path, cache string) (guestkernel.Kernel, error) {
	if path != "" {
		return guestkernel.FromFile(path)
	}
	return guestkernel.Ensure(ctx, cache)
}

// guestInit finds fargo-init: the given path, else beside this binary.
func guestInit(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = filepath.Join(filepath.Dir(exe), "fargo-init")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("the microvm tier needs fargo-init (%w): build it with `make build` (CGO_ENABLED=0 go build -o bin/fargo-init ./cmd/fargo-init) or pass --guest-init", err)
	}
	return path, nil
}

// chooseAccel is the accelerator asked for, or the probe's answer.
func chooseAccel(ctx context.Context, want string, vmm microvm.VMM, kernel, initrd, args, dir string) (microvm.Accel, error) {
	switch want {
	case "", "auto":
		return microvm.ProbeAccel(ctx, vmm, kernel, initrd, args, dir)
	case string(microvm.AccelKVM), string(microvm.AccelTCG):
		return microvm.Accel(want), nil
	}
	return "", fmt.Errorf("--vm-accel %q: use auto, kvm or tcg", want)
}

// kernelArgs tell the guest the TSC's rate: without it a guest under TCG
// calibrates against a timer that TCG emulates slowly, and can hang.
func kernelArgs() string {
	khz, err := hostKHz()
	if err != nil {
		return ""
	}
	return "tsc_early_khz=" + strconv.Itoa(khz)
}

func hostKHz() (int, error) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return int(mhz * 1000), err
		}
	}
	return 0, errors.New("no cpu MHz in /proc/cpuinfo")
}

// shimPath is fargo-shim: the given path, else beside this binary, else
// as PATH finds it.
func shimPath(path string) string {
	if path != "" {
		return path
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "fargo-shim"); fileExists(p) {
			return p
		}
	}
	return "fargo-shim"
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }
