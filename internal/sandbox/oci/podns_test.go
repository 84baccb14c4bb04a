package oci

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestPodNamespacesPinned: a pod's IPC and UTS namespaces are bind mounts
// under its directory, the UTS one with the pod's hostname, held by no
// process; half a set (a crash mid-way) is made whole by CreatePod; all
// of it goes with RemovePod.
func TestPodNamespacesPinned(t *testing.T) {
	r := testRuntime(t, "runc")
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	dir := r.namespaceDir(pod.UID)
	if !pinned(dir) {
		t.Fatalf("after CreatePod, %s does not hold the pod's namespaces", dir)
	}
	checkHostname(t, dir, pod.Hostname)
	for _, kind := range podNamespaceKinds {
		own, _ := os.Readlink("/proc/self/ns/" + kind)
		if nsInode(t, filepath.Join(dir, kind)) == own {
			t.Errorf("the pod's %s namespace is the host's", kind)
		}
	}

	must(t, unmount(filepath.Join(dir, "ipc")))
	createPod(t, r, pod)
	if !pinned(dir) {
		t.Fatalf("CreatePod after half the namespaces went left %s incomplete", dir)
	}
	checkHostname(t, dir, pod.Hostname)

	must(t, r.RemovePod(context.Background(), pod.UID))
	if err := checkPodGone(t, r, pod.UID, nil); err != nil {
		t.Error(err)
	}
}

func checkHostname(t *testing.T, dir, want string) {
	t.Helper()
	out, err := exec.Command("nsenter", "--uts="+filepath.Join(dir, "uts"), "hostname").Output()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("hostname in the pinned UTS namespace = %q (%v), want %s", out, err, want)
	}
}

// nsInode is the namespace behind an nsfs file, as readlink of
// /proc/PID/ns/KIND names it.
func nsInode(t *testing.T, path string) string {
	t.Helper()
	var st syscall.Stat_t
	must(t, syscall.Stat(path, &st))
	kind := filepath.Base(path)
	return kind + ":[" + strconv.FormatUint(st.Ino, 10) + "]"
}

// TestPodOfAPauseProcess: a pod an earlier agent made has a pause process
// holding its namespaces instead of pinned ones; its new containers join
// the pause's namespaces, and RemovePod ends the pause.
func TestPodOfAPauseProcess(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	// What an earlier agent left: no pinned namespaces, a pause process
	// (here a shell named as one) in its own, recorded in pause.json.
	must(t, unpinNamespaces(r.namespaceDir(pod.UID)))
	must(t, os.RemoveAll(r.namespaceDir(pod.UID)))
	pause := startOldPause(t, pod.UID)
	data, err := json.Marshal(pause)
	must(t, err)
	must(t, os.WriteFile(r.pauseFile(pod.UID), data, 0o644))

	createPod(t, r, pod)
	if pinned(r.namespaceDir(pod.UID)) {
		t.Errorf("CreatePod pinned new namespaces for a pod whose pause process holds them")
	}
	c := startContainer(t, r, pod.UID, shellContainer(t, layer, "c", "exec sleep 1000"))
	for _, kind := range podNamespaceKinds {
		want, _ := os.Readlink(filepath.Join(procNamespaces(pause.Pid), kind))
		if got := execOK(t, r, pod.UID, c.ID, "readlink", "/proc/self/ns/"+kind); got != want {
			t.Errorf("container's %s namespace %s, want the pause's %s", kind, got, want)
		}
	}
	must(t, r.RemovePod(context.Background(), pod.UID))
	if pause.alive() {
		t.Errorf("the pod's pause process %d still runs after RemovePod", pause.Pid)
	}
}

// startOldPause starts a process in new IPC and UTS namespaces whose
// command line reads as an earlier agent's pause process of pod uid:
// "sh pause --pod UID" runs the script ./pause.
func startOldPause(t *testing.T, uid string) processRef {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "pause"), []byte("sleep 1000\n"), 0o755))
	cmd := exec.Command("sh", "pause", "--pod", uid)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS}
	must(t, cmd.Start())
	go cmd.Wait()
	ref, err := refOf(cmd.Process.Pid)
	must(t, err)
	t.Cleanup(func() { _ = ref.kill(syscall.SIGKILL) })
	return ref
}

// TestPinningLeavesTheProcessNamespaces: pinning goes into new namespaces
// on a thread of this process and back; the process (and /proc/self,
// which shows the main thread) stays in its own, however many pods pin.
func TestPinningLeavesTheProcessNamespaces(t *testing.T) {
	own := map[string]string{}
	for _, kind := range podNamespaceKinds {
		own[kind], _ = os.Readlink("/proc/self/ns/" + kind)
	}
	hostname, _ := os.Hostname()
	base := t.TempDir()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			dir := filepath.Join(base, strconv.Itoa(i))
			if err := ensureNamespaces(dir, "pod-"+strconv.Itoa(i)); err != nil {
				t.Error(err)
			}
			t.Cleanup(func() { unpinNamespaces(dir) })
		})
	}
	wg.Wait()
	for _, kind := range podNamespaceKinds {
		if ns, _ := os.Readlink("/proc/self/ns/" + kind); ns != own[kind] {
			t.Errorf("after 64 pods pinned, /proc/self is in %s, want the process's %s", ns, own[kind])
		}
	}
	if now, _ := os.Hostname(); now != hostname {
		t.Errorf("hostname %q after pinning, want the host's %q", now, hostname)
	}
}
