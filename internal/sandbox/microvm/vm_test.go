package microvm_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/guestkernel"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sandbox/microvm"
	"github.com/fargo-dev/fargo/internal/sandbox/microvm/qemu"
	"github.com/fargo-dev/fargo/internal/vmdisk"
)

// kernelCache is shared between test runs: the guest kernel is Debian's
// and does not change within a run.
const kernelCache = "/var/cache/fargo/kernel"

// testVM is a microvm.Runtime on a real QEMU with the real guest kernel
// and fargo-init, and a pod network namespace wired to a test bridge.
type testVM struct {
	rt     *microvm.Runtime
	cfg    microvm.Config
	netns  string
	layer  string
	logDir string
}

func newTestVM(t *testing.T) *testVM {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (CI runs as root)")
	}
	for _, tool := range []string{"qemu-system-x86_64", "mkfs.erofs", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s is not installed (make deps installs it)", tool)
		}
	}
	ctx := context.Background()
	k, err := guestkernel.Ensure(ctx, kernelCache)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	initBin := filepath.Join(dir, "fargo-init")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", initBin, "github.com/fargo-dev/fargo/cmd/fargo-init")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fargo-init: %v\n%s", err, out)
	}
	shimBin := filepath.Join(dir, "fargo-shim")
	build = exec.Command("go", "build", "-o", shimBin, "github.com/fargo-dev/fargo/cmd/fargo-shim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fargo-shim: %v\n%s", err, out)
	}
	initrd, err := guestkernel.InitramfsPath(filepath.Join(dir, "initramfs"), k, initBin)
	if err != nil {
		t.Fatal(err)
	}
	disks := filepath.Join(dir, "disks")
	cfg := microvm.Config{
		// A deep state dir: the channel socket's path is longer than a
		// unix socket address holds, as under a long --data-dir.
		Root: filepath.Join(dir, strings.Repeat("deep-", 10), "state"), VMM: &qemu.Driver{}, Accel: microvm.AccelTCG,
		Kernel: k.Vmlinux, Initrd: initrd, KernelArgs: "tsc_early_khz=" + hostKHz(t),
		ImageDisk: func(ctx context.Context, layers []string) (string, error) {
			return vmdisk.ImageDisk(ctx, disks, layers)
		},
		ScratchDisk: vmdisk.ScratchDisk,
		Shim:        shimBin,
	}
	rt, err := microvm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testVM{rt: rt, cfg: cfg, netns: podNetns(t), layer: busyboxLayer(t, dir), logDir: filepath.Join(dir, "logs")}
}

// reopen is a new Runtime on the same state, as after an agent restart.
func (v *testVM) reopen(t *testing.T) *microvm.Runtime {
	t.Helper()
	rt, err := microvm.New(v.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func hostKHz(t *testing.T) string {
	out, err := exec.Command("sh", "-c", `awk '/cpu MHz/{printf "%d", $4*1000; exit}' /proc/cpuinfo`).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// busyboxLayer is an image layer of Debian's static busybox.
func busyboxLayer(t *testing.T, dir string) string {
	layer := filepath.Join(dir, "layer")
	for _, d := range []string{"bin", "etc", "tmp"} {
		os.MkdirAll(filepath.Join(layer, d), 0o755)
	}
	bb, _ := exec.LookPath("busybox")
	if out, err := exec.Command("cp", bb, filepath.Join(layer, "bin/busybox")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, app := range []string{"sh", "echo", "cat", "sleep", "id", "uname", "ls", "ps", "tail", "wget", "httpd", "hostname", "ip", "dd", "touch", "df"} {
		os.Symlink("busybox", filepath.Join(layer, "bin", app))
	}
	os.WriteFile(filepath.Join(layer, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(layer, "etc/group"), []byte("root:x:0:\nuser:x:1000:\n"), 0o644)
	return layer
}

// podNetns makes a network namespace with eth0 at 10.231.0.5/24 on a
// test bridge, as internal/network's Attach leaves a pod's.
func podNetns(t *testing.T) string {
	name := fmt.Sprintf("fgvmt%d", os.Getpid()%100000)
	br, veth := name+"b", name+"v"
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", veth).Run()
		exec.Command("ip", "link", "del", br).Run()
		exec.Command("ip", "netns", "del", name).Run()
	})
	run("link", "add", br, "type", "bridge")
	run("addr", "add", "10.231.0.1/24", "dev", br)
	run("link", "set", br, "up")
	run("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
	run("link", "set", veth, "master", br, "up")
	run("-n", name, "link", "set", "eth0", "address", "0a:58:0a:e7:00:05")
	run("-n", name, "addr", "add", "10.231.0.5/24", "dev", "eth0")
	run("-n", name, "link", "set", "eth0", "up")
	run("-n", name, "route", "add", "default", "via", "10.231.0.1")
	return "/var/run/netns/" + name
}

// createPod boots pod uid's VM with the test image and 1 GiB of ephemeral
// storage; it is removed when the test ends.
func (v *testVM) createPod(t *testing.T, uid string) {
	t.Helper()
	ctx := context.Background()
	err := v.rt.CreatePod(ctx, sandbox.PodConfig{
		UID: uid, Namespace: "ns", Name: "p", Hostname: "p", NetnsPath: v.netns,
		MilliCPU: 250, MemoryBytes: 512 << 20, Images: [][]string{{v.layer}}, EphemeralStorageBytes: 1 << 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.rt.RemovePod(ctx, uid) })
}

func (v *testVM) container(name string, args ...string) sandbox.ContainerConfig {
	return sandbox.ContainerConfig{
		Name: name, Layers: []string{v.layer}, Args: args, Env: []string{"PATH=/bin"},
		// The log's directory is the runtime's to make.
		LogPath: filepath.Join(v.logDir, name, "0.log"), TerminationMessagePath: "/dev/termination-log",
	}
}

func waitExit(t *testing.T, rt *microvm.Runtime, uid, id string) sandbox.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		list, err := rt.Containers(context.Background(), uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.ID == id && c.State == sandbox.StateExited {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("container %s did not exit within a minute", id)
	return sandbox.ContainerStatus{}
}

func TestPodRunsInItsOwnKernel(t *testing.T) {
	v := newTestVM(t)
	ctx := context.Background()
	uid := "vmtest-1"
	start := time.Now()
	err := v.rt.CreatePod(ctx, sandbox.PodConfig{
		UID: uid, Namespace: "ns", Name: "p", Hostname: "p", NetnsPath: v.netns,
		MilliCPU: 250, MemoryBytes: 512 << 20, Images: [][]string{{v.layer}},
		Files:                 map[string][]byte{"/etc/hosts": []byte("127.0.0.1 localhost\n10.231.0.5 p\n")},
		EphemeralStorageBytes: 256 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM up and set up in %v", time.Since(start))
	removed := false
	t.Cleanup(func() {
		if !removed {
			v.rt.RemovePod(ctx, uid)
		}
	})

	beforeStart := time.Now()
	st, err := v.rt.StartContainer(ctx, uid, v.container("hello", "sh", "-c", "echo out; echo err >&2; echo bye > /dev/termination-log; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	// The guest's clock is the host's: times it reports read right.
	if afterStart := time.Now(); st.StartedAt.Before(beforeStart.Add(-100*time.Millisecond)) || st.StartedAt.After(afterStart.Add(100*time.Millisecond)) {
		t.Errorf("the guest says the container started at %v; the host asked at %v and heard back at %v",
			st.StartedAt.Format(time.StampMicro), beforeStart.Format(time.StampMicro), afterStart.Format(time.StampMicro))
	}
	t.Logf("first container started %v after create", time.Since(start))
	done := waitExit(t, v.rt, uid, st.ID)
	if done.ExitCode != 3 || done.Reason != "Error" || done.TerminationMessage != "bye\n" {
		t.Errorf("exit %+v; want code 3, Error, message bye", done)
	}
	log, _ := os.ReadFile(filepath.Join(v.logDir, "hello", "0.log"))
	if !strings.Contains(string(log), " stdout F out\n") || !strings.Contains(string(log), " stderr F err\n") {
		t.Errorf("CRI log:\n%s", log)
	}

	sleeper, err := v.rt.StartContainer(ctx, uid, v.container("sleeper", "sleep", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.rt.Exec(ctx, uid, sleeper.ID, []string{"uname", "-r"}, 30*time.Second)
	host, _ := exec.Command("uname", "-r").Output()
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(string(res.Output)) == strings.TrimSpace(string(host)) ||
		!strings.Contains(string(res.Output), "cloud") {
		t.Errorf("uname -r in the pod: %q code %d err %v; host runs %s", res.Output, res.ExitCode, err, host)
	}
	// Each container has its own PID namespace, which exec joins: PID 1
	// is the container's command, and nothing else of the guest shows.
	res, err = v.rt.Exec(ctx, uid, sleeper.ID, []string{"ps", "-o", "pid,args"}, 30*time.Second)
	if err != nil || !strings.Contains(string(res.Output), "    1 sleep 1000") || strings.Contains(string(res.Output), "init") {
		t.Errorf("ps in the container: %q %v", res.Output, err)
	}
	res, err = v.rt.Exec(ctx, uid, sleeper.ID, []string{"cat", "/etc/hosts"}, 30*time.Second)
	if err != nil || !strings.Contains(string(res.Output), "10.231.0.5 p") {
		t.Errorf("/etc/hosts in the pod: %q %v", res.Output, err)
	}
	if _, err := v.rt.Exec(ctx, uid, sleeper.ID, []string{"no-such-command"}, 30*time.Second); err == nil ||
		!strings.Contains(err.Error(), "executable file not found") {
		t.Errorf("exec of a missing command: %v", err)
	}
	// The writable layer lives on the pod's scratch disk, sized by its
	// ephemeral storage (256 MiB here): writing past it fails in the pod.
	res, err = v.rt.Exec(ctx, uid, sleeper.ID, []string{"dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=300"}, time.Minute)
	if err != nil || res.ExitCode == 0 || !strings.Contains(string(res.Output), "No space left on device") {
		t.Errorf("writing 300 MiB into a pod with 256 MiB of ephemeral storage: code %d %v\n%s", res.ExitCode, err, res.Output)
	}
	if out, err := exec.Command("busybox", "ping", "-c", "1", "-W", "5", "10.231.0.5").CombinedOutput(); err != nil {
		t.Errorf("the host cannot reach the pod's IP: %v\n%s", err, out)
	}
	usage, err := v.rt.Stats(ctx, uid)
	if err != nil || usage.Usage.MemoryUsageBytes == 0 || len(usage.Containers) != 1 {
		t.Errorf("stats %+v, %v", usage, err)
	}

	stopAt := time.Now()
	if err := v.rt.StopContainer(ctx, uid, sleeper.ID, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	// sleep is PID 1 of its namespace and has no SIGTERM handler: it
	// ignores the signal, as in any container, and is killed after grace.
	if st := waitExit(t, v.rt, uid, sleeper.ID); st.ExitCode != 137 || time.Since(stopAt) < 2*time.Second {
		t.Errorf("stopped sleep exited %d after %v, want 137 after the 2 s grace", st.ExitCode, time.Since(stopAt))
	}

	if err := v.rt.RemovePod(ctx, uid); err != nil {
		t.Fatal(err)
	}
	removed = true
	assertNoVMLeft(t, v)
}

// assertNoVMLeft checks the pod left no QEMU, tap, or files.
func assertNoVMLeft(t *testing.T, v *testVM) {
	t.Helper()
	if out, _ := exec.Command("pgrep", "-f", "qemu-system.*"+filepath.Base(v.netns)).Output(); len(out) > 0 {
		t.Errorf("QEMU still runs: %s", out)
	}
	if pods, _ := v.rt.Pods(context.Background()); len(pods) != 0 {
		t.Errorf("pods left: %v", pods)
	}
	out, _ := exec.Command("ip", "-n", filepath.Base(v.netns), "link", "show", "tap0").CombinedOutput()
	if !strings.Contains(string(out), "does not exist") {
		t.Errorf("tap0 is still in the pod's netns: %s", out)
	}
}

// TestAdoptedVMGoesOn: an agent that goes away while a container writes
// output leaves the VM running; a new Runtime on the same state adopts it:
// the output goes on in the same log, and the pod can be stopped and
// removed.
func TestAdoptedVMGoesOn(t *testing.T) {
	v := newTestVM(t)
	ctx := context.Background()
	uid := "vmtest-adopt"
	v.createPod(t, uid)
	ticker, err := v.rt.StartContainer(ctx, uid, v.container("ticker", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.01; done"))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(v.logDir, "ticker", "0.log")
	lines := func() int { b, _ := os.ReadFile(logPath); return strings.Count(string(b), "\n") }
	waitFor(t, "the ticker logs", func() bool { return lines() > 20 })

	// The agent goes: its runtime's connections close mid-output.
	v.rt.CloseConnections()
	atKill := lines()
	adopter := v.reopen(t)
	list, err := adopter.Containers(ctx, uid)
	if err != nil || len(list) != 1 || list[0].ID != ticker.ID || list[0].State != sandbox.StateRunning {
		t.Fatalf("the adopting runtime sees %+v, %v; want the running ticker", list, err)
	}
	waitFor(t, "the log goes on after adoption", func() bool { return lines() > atKill+50 })
	if b, _ := os.ReadFile(logPath); strings.Count(string(b), " F tick ") != strings.Count(string(b), "\n") {
		t.Errorf("the log has broken lines:\n%s", b)
	}
	if err := adopter.StopContainer(ctx, uid, ticker.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := adopter.RemovePod(ctx, uid); err != nil {
		t.Fatal(err)
	}
	assertNoVMLeft(t, &testVM{rt: adopter, netns: v.netns})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestImageAddedToRunningVM: a container whose image the VM did not boot
// with (its spec changed to a new image) gets that image sent to the
// running guest, which keeps it on the scratch disk; an adopting runtime
// knows it is there.
func TestImageAddedToRunningVM(t *testing.T) {
	v := newTestVM(t)
	ctx := context.Background()
	uid := "vmtest-image"
	v.createPod(t, uid)
	// The new image: busybox and a layer over it with a marker and 6 MiB
	// of random bytes, more than the transfer's window.
	extra := filepath.Join(t.TempDir(), "extra")
	os.MkdirAll(extra, 0o755)
	os.WriteFile(filepath.Join(extra, "marker"), []byte("from the added image\n"), 0o644)
	big := make([]byte, 6<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(extra, "big"), big, 0o644)
	cfg := v.container("second", "sh", "-c", "cat /marker; ls -l /big")
	cfg.Layers = []string{v.layer, extra}
	started := time.Now()
	st, err := v.rt.StartContainer(ctx, uid, cfg)
	if err != nil {
		t.Fatalf("starting a container of an image the VM did not boot with: %v", err)
	}
	t.Logf("image added and container started in %v", time.Since(started))
	if done := waitExit(t, v.rt, uid, st.ID); done.ExitCode != 0 {
		t.Errorf("exit %+v", done)
	}
	log, _ := os.ReadFile(filepath.Join(v.logDir, "second", "0.log"))
	if !strings.Contains(string(log), "from the added image") || !strings.Contains(string(log), " 6291456 ") {
		t.Errorf("the container's output:\n%s", log)
	}

	v.rt.CloseConnections()
	adopter := v.reopen(t)
	cfg = v.container("third", "cat", "/marker")
	cfg.Layers = []string{v.layer, extra}
	st, err = adopter.StartContainer(ctx, uid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if done := waitExit(t, adopter, uid, st.ID); done.ExitCode != 0 {
		t.Errorf("exit %+v after adoption", done)
	}
	if err := adopter.RemovePod(ctx, uid); err != nil {
		t.Fatal(err)
	}
	assertNoVMLeft(t, &testVM{rt: adopter, netns: v.netns})
}

// TestEmptyDirAsTheHostMadeIt: a memory emptyDir of a pod with an fsGroup
// is, in the guest, a tmpfs of the host's size whose new files take the
// fsGroup, as the host's directory (internal/podvolume) says.
func TestEmptyDirAsTheHostMadeIt(t *testing.T) {
	v := newTestVM(t)
	ctx := context.Background()
	uid := "vmtest-emptydir"
	hostDir := filepath.Join(t.TempDir(), "pods", uid, "volumes", "scratch")
	os.MkdirAll(hostDir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=10m,mode=1777", "tmpfs", hostDir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", hostDir).Run() })
	os.Lchown(hostDir, -1, 123)
	exec.Command("chmod", "3777", hostDir).Run()

	v.createPod(t, uid)
	// A subPath the guest's emptyDir does not have yet is made with the
	// volume's mode, as a kubelet makes it: files there take the group too.
	os.MkdirAll(filepath.Join(hostDir, "sub"), 0o755)
	cfg := v.container("fsgroup", "sh", "-c", "touch /scratch/f /sub/g && ls -ln /scratch/f /sub/g && df -k /scratch")
	cfg.User = "1000"
	cfg.Security.SupplementalGroups = []uint32{123}
	cfg.Mounts = []sandbox.Mount{{Source: hostDir, Destination: "/scratch"}, {Source: filepath.Join(hostDir, "sub"), Destination: "/sub"}}
	st, err := v.rt.StartContainer(ctx, uid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if done := waitExit(t, v.rt, uid, st.ID); done.ExitCode != 0 {
		t.Errorf("exit %+v", done)
	}
	log, _ := os.ReadFile(filepath.Join(v.logDir, "fsgroup", "0.log"))
	if len(regexp.MustCompile(` 1000 +123 `).FindAll(log, -1)) != 2 {
		t.Errorf("new files in the emptyDir and its subPath are not both the fsGroup's (123):\n%s", log)
	}
	if !regexp.MustCompile(`tmpfs +10240 `).Match(log) {
		t.Errorf("the emptyDir is not a 10 MiB tmpfs:\n%s", log)
	}
}
