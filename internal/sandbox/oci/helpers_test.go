package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// shimPath is the fargo-shim binary built for the tests by TestMain.
var shimPath string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if root := os.Getenv(agentRootEnv); root != "" {
		return runAgent(root)
	}
	if os.Geteuid() != 0 {
		fmt.Println("SKIP: the oci runtime tests run containers and need root")
		return 0
	}
	dir, err := os.MkdirTemp("", "fargo-shim-bin")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	shimPath = filepath.Join(dir, "fargo-shim")
	build := exec.Command("go", "build", "-ldflags", "-s -w", "-o", shimPath, "github.com/fargo-dev/fargo/cmd/fargo-shim")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("building fargo-shim: %v\n%s", err, out)
		return 1
	}
	defer removeTestCgroupParent()
	return m.Run()
}

// removeTestCgroupParent removes the tests' cgroup parent once empty.
func removeTestCgroupParent() {
	if cg, err := detectCgroups(); err == nil {
		for _, m := range cg.mounts {
			os.Remove(filepath.Join(m, "fargo-test"))
		}
	}
}

// busyboxLayer makes an image layer holding the static busybox with its
// applets, and an /etc/passwd and /etc/group.
func busyboxLayer(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "tmp"), 0o1777))
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("SKIP: needs the static busybox at /bin/busybox (apt install busybox-static): %v", err)
	}
	must(t, os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755))
	list, err := exec.Command("/bin/busybox", "--list").Output()
	must(t, err)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			must(t, os.Symlink("busybox", filepath.Join(bin, applet)))
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "etc/group"), []byte(
		"root:x:0:\napp:x:1000:\nextra:x:2000:app\n"), 0o644))
	return dir
}

// testNetns makes a network namespace for one test's pods.
func testNetns(t testing.TB) string {
	t.Helper()
	name := "fargo-test-" + randomHex(4)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("SKIP: cannot make a network namespace (ip netns add): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testRuntime is a Runtime on a fresh root with its cleanup.
func testRuntime(t testing.TB, runtime string) *Runtime {
	t.Helper()
	root := t.TempDir()
	return newRuntimeAt(t, root, runtime)
}

func newRuntimeAt(t testing.TB, root, runtime string) *Runtime {
	t.Helper()
	r, err := New(Config{Root: root, Runtime: runtime, ShimPath: shimPath, CgroupParent: "fargo-test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		uids, _ := r.Pods(context.Background())
		for _, uid := range uids {
			if err := r.RemovePod(context.Background(), uid); err != nil {
				t.Errorf("cleanup RemovePod %s: %v", uid, err)
			}
		}
	})
	return r
}

// podConfig is a pod of 0.25 vCPU and 64 MiB with a resolv.conf.
func podConfig(netns string) sandbox.PodConfig {
	uid := randomHex(4) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(6)
	return sandbox.PodConfig{
		UID: uid, Namespace: "default", Name: "pod-" + uid[:8], Hostname: "web-" + uid[:4],
		NetnsPath: netns, MilliCPU: 250, MemoryBytes: 64 << 20,
		Files: map[string][]byte{
			"/etc/resolv.conf": []byte("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.100.0.10\noptions ndots:5\n"),
			"/etc/hosts":       []byte("127.0.0.1 localhost\n"),
			"/etc/hostname":    []byte("web\n"),
		},
	}
}

// shellContainer runs script with busybox sh.
func shellContainer(t testing.TB, layer, name, script string) sandbox.ContainerConfig {
	return sandbox.ContainerConfig{
		Name: name, Layers: []string{layer},
		Args:    []string{"/bin/sh", "-c", script},
		Env:     []string{"PATH=/bin"},
		LogPath: filepath.Join(t.TempDir(), "logs", name, "0.log"),
	}
}

func createPod(t testing.TB, r *Runtime, cfg sandbox.PodConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.CreatePod(ctx, cfg); err != nil {
		t.Fatalf("CreatePod: %v", err)
	}
}

func startContainer(t testing.TB, r *Runtime, uid string, cfg sandbox.ContainerConfig) sandbox.ContainerStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := r.StartContainer(ctx, uid, cfg)
	if err != nil {
		t.Fatalf("StartContainer %s: %v", cfg.Name, err)
	}
	return st
}

// waitExit waits for id's exit on r.Exits, skipping other attempts'.
func waitExit(t testing.TB, r *Runtime, id string, d time.Duration) sandbox.ContainerStatus {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case st := <-r.Exits():
			if st.ID == id {
				return st
			}
		case <-timeout:
			t.Fatalf("no exit of %s on Exits within %v", id, d)
		}
	}
}

// execOK runs a command in a container and returns its trimmed output.
func execOK(t testing.TB, r *Runtime, uid, id string, argv ...string) string {
	t.Helper()
	res, err := r.Exec(context.Background(), uid, id, argv, 10*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exec %q: code %d, err %v, output %q", argv, res.ExitCode, err, res.Output)
	}
	return strings.TrimSpace(string(res.Output))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
