// Package guestinit is fargo-init, PID 1 of a fargo microVM. It mounts
// the guest's filesystems, loads the kernel modules the initramfs holds,
// reaps every process, and serves the host over vmproto: it sets the
// pod's network up, runs the pod's containers (each an overlay root on
// its image's disk, a cgroup, its user and capabilities), sends their
// output and exits, and serves exec, attach, port-forward, stats and
// volume updates. It uses the standard library and x/sys only, so the
// guest binary stays small and static.
package guestinit

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Paths in the guest.
const (
	runDir       = "/run/fargo"
	scratchDir   = runDir + "/scratch"
	imagesDir    = runDir + "/images"
	volumesDir   = runDir + "/volumes"
	podFilesDir  = runDir + "/podfiles"
	shmDir       = runDir + "/shm"
	containerDir = runDir + "/containers"
	cgroupRoot   = "/sys/fs/cgroup"
	podCgroup    = cgroupRoot + "/fargo"
	modulesDir   = "/lib/modules"
	// loopModule is the loop block driver's file among the modules.
	loopModule = "loop.ko"
)

// Main runs PID 1; it never returns.
func Main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "fargo-init is the init of a fargo microVM; it does not run on a host")
		os.Exit(2)
	}
	start := time.Now()
	if err := mountBase(); err != nil {
		fatal("mounts: %v", err)
	}
	if err := loadModules(modulesDir); err != nil {
		logf("modules: %v", err)
	}
	go reapLoop()
	s := newServer()
	logf("up in %v (kernel uptime %s)", time.Since(start).Round(time.Millisecond), uptime())
	serveHost(s)
	fatal("host channel gone for good")
}

// logf writes a line to the console, which the host keeps in a file.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fargo-init: "+format+"\n", args...)
}

// fatal logs and powers the VM off: PID 1 must not exit (the kernel
// would panic), and a VM that is off is what the host notices.
func fatal(format string, args ...any) {
	logf(format, args...)
	powerOff()
}

func powerOff() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func uptime() string {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0] + "s"
}

// mountBase mounts what everything else needs.
func mountBase() error {
	for _, m := range []struct{ src, dst, fs, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"cgroup2", cgroupRoot, "cgroup2", ""},
	} {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fs, 0, m.data); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	_ = os.Remove("/dev/ptmx")
	_ = os.Symlink("pts/ptmx", "/dev/ptmx")
	for _, d := range []string{scratchDir, imagesDir, volumesDir, podFilesDir, shmDir, containerDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("shm", shmDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size=65536k"); err != nil {
		return err
	}
	return setupCgroups()
}

// setupCgroups makes the pod's cgroup with the controllers containers
// need.
func setupCgroups() error {
	if err := os.WriteFile(cgroupRoot+"/cgroup.subtree_control", []byte("+cpu +memory +pids"), 0); err != nil {
		return fmt.Errorf("enable cgroup controllers: %w", err)
	}
	if err := os.MkdirAll(podCgroup, 0o755); err != nil {
		return err
	}
	return os.WriteFile(podCgroup+"/cgroup.subtree_control", []byte("+cpu +memory +pids"), 0)
}

// loadModules loads dir's modules in the order its file "order" gives.
func loadModules(dir string) error {
	order, err := os.ReadFile(dir + "/order")
	if os.IsNotExist(err) {
		return nil // a kernel with the drivers built in
	}
	if err != nil {
		return err
	}
	vsock := cmdlineHas("fargo.transport=vsock")
	for _, name := range strings.Fields(string(order)) {
		if !vsock && strings.Contains(name, "vsock") {
			continue // the channel is virtio-serial: vsock's modules cost boot time for nothing
		}
		if name == loopModule {
			continue // loaded when an image is added (image.go), which few VMs see
		}
		if err := loadModule(dir + "/" + name); err != nil {
			logf("load %s: %v", name, err)
		}
	}
	return nil
}

// loadModule loads the kernel module in file; one already loaded is fine.
func loadModule(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		return err
	}
	return nil
}
