package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/sandbox/oci"
	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// TestDownStopsEverything: `fargo down` on a running fargo up with five
// pods leaves no fargo process, pod process, mount under the data dir,
// bridge, nftables table or pod cgroup, and the next fargo up on the same
// data dir brings the Deployment's pods back.
func TestDownStopsEverything(t *testing.T) {
	srv := startRunning(t)
	apply(t, srv, strings.Replace(seedNetshoot, "replicas: 1", "replicas: 5", 1))
	cs := srv.Client(t)
	pods := runningPods(t, cs, "app=netshoot", 5)
	var pids []int
	var cgroups []string
	for _, p := range pods {
		pids = append(pids, podProcesses(t, p)...)
		cgroups = append(cgroups, podCgroups(p)...)
	}
	if len(pids) < 5 || len(cgroups) < 5 {
		t.Fatalf("found %d pod processes and %d pod cgroups for 5 running pods: the test cannot see them", len(pids), len(cgroups))
	}
	bridge := recordedBridge(t, srv)
	// A pod that finished keeps its logs, but no sandbox or volumes, until
	// it is deleted; fargo down takes them too.
	apply(t, srv, podManifest("finished", "Never", "echo done", ""))
	finished := waitPod(t, cs, "finished", 2*time.Minute, "Succeeded", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
	finishedLogs, _ := filepath.Glob("/var/log/pods/*_" + string(finished.UID))
	if len(finishedLogs) == 0 {
		t.Fatal("the finished pod has no logs to check")
	}

	out, err := exec.Command(harness.Binary(t), "down", "--data-dir", srv.DataDir, "--grace", "2s").CombinedOutput()
	if err != nil {
		t.Fatalf("fargo down: %v\n%s", err, out)
	}
	t.Logf("fargo down:\n%s", out)
	if srv.Running() {
		t.Error("fargo up still runs after fargo down")
	}
	// Killed processes may wait a moment for init to reap them.
	testwait.Eventually(t, 10*time.Second, "pod processes gone", func(context.Context) error {
		for _, pid := range pids {
			if alive(pid) {
				return fmt.Errorf("pod process %d still runs after fargo down", pid)
			}
		}
		return nil
	})
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); err == nil {
			t.Errorf("pod cgroup %s still exists", cg)
		}
	}
	if left := oci.MountsUnder(srv.DataDir); len(left) > 0 {
		t.Errorf("still mounted under the data dir: %v", left)
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		t.Errorf("bridge %s still exists", bridge)
	}
	for _, d := range finishedLogs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the finished pod's logs %s are left", d)
		}
	}
	if tables, _ := exec.Command("nft", "list", "tables").CombinedOutput(); strings.Contains(string(tables), "fargo-"+bridge) || strings.Contains(string(tables), "kube-proxy") {
		t.Errorf("nftables tables left:\n%s", tables)
	}

	srv.Start(t)
	runningPods(t, srv.Client(t), "app=netshoot", 5)
}

// runningPods waits for n pods of selector bound and Running.
// The pods are in study-aews, where waitPod looks.
func runningPods(t *testing.T, cs kubernetes.Interface, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	for _, p := range boundPods(t, cs, "study-aews", selector, n) {
		pods = append(pods, *waitPod(t, cs, p.Name, 2*time.Minute, "running", func(p *corev1.Pod) error {
			if p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			return nil
		}))
	}
	return pods
}

// podProcesses are the pids of the processes in the pod's cgroups and
// their children (each container has one below the pod's).
func podProcesses(t *testing.T, p corev1.Pod) []int {
	t.Helper()
	seen := map[int]bool{}
	for _, cg := range podCgroups(p) {
		filepath.WalkDir(cg, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	var pids []int
	for pid := range seen {
		pids = append(pids, pid)
	}
	return pids
}

// podCgroups are the pod's cgroup directories, in every hierarchy that
// has one.
func podCgroups(p corev1.Pod) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/fargo/pod-" + string(p.UID))
	return dirs
}

// recordedBridge is the bridge the host agent of srv recorded.
func recordedBridge(t *testing.T, srv *harness.Server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(srv.DataDir, "agent", "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Bridge string }
	if err := json.Unmarshal(b, &rec); err != nil || rec.Bridge == "" {
		t.Fatalf("host.json %s: %v", b, err)
	}
	return rec.Bridge
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command in parentheses, which may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}
