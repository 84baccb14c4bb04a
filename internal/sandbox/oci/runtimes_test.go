package oci

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestRuntimes runs one pod through each OCI runtime installed: output,
// exit code, hostname, shared IPC namespace, exec and removal.
func TestRuntimes(t *testing.T) {
	layer := busyboxLayer(t)
	eachRuntime(t, func(t *testing.T, name string, r *Runtime, pod sandbox.PodConfig) {
		cfg := shellContainer(t, layer, "once", "echo hello; hostname; exit 3")
		st := startContainer(t, r, pod.UID, cfg)
		exit := waitExit(t, r, st.ID, 30*time.Second)
		if exit.ExitCode != 3 || exit.Reason != "Error" {
			t.Fatalf("exit = %+v, want 3 Error", exit)
		}
		if got := readCRILog(t, cfg.LogPath); strings.Join(got, "|") != "stdout F hello|stdout F "+pod.Hostname {
			t.Fatalf("log = %q, want hello and the hostname", got)
		}
		long := startContainer(t, r, pod.UID, shellContainer(t, layer, "long", "exec sleep 1000"))
		if got := execOK(t, r, pod.UID, long.ID, "cat", "/etc/resolv.conf"); !strings.Contains(got, "ndots:5") {
			t.Fatalf("resolv.conf in %s = %q", name, got)
		}
		// The pod's network namespace has only a loopback device.
		if got := execOK(t, r, pod.UID, long.ID, "sh", "-c", "ls /sys/class/net 2>/dev/null || ifconfig -a | grep -o '^[a-z0-9]*'"); got != "lo" {
			t.Fatalf("network devices in %s = %q, want only lo (the pod's netns)", name, got)
		}
		must(t, r.StopContainer(context.Background(), pod.UID, long.ID, time.Second))
		list, err := r.Containers(context.Background(), pod.UID)
		must(t, err)
		for _, c := range list {
			if c.State != sandbox.StateExited {
				t.Fatalf("after stop: %+v", c)
			}
		}
		procs := podProcesses(t, r, pod.UID)
		must(t, r.RemovePod(context.Background(), pod.UID))
		if err := checkPodGone(t, r, pod.UID, procs); err != nil {
			t.Fatal(err)
		}
	})
}

// eachRuntime runs test once for each OCI runtime installed, with a new
// pod made by that runtime; a runtime that is missing is skipped, saying so.
func eachRuntime(t *testing.T, test func(t *testing.T, name string, r *Runtime, pod sandbox.PodConfig)) {
	netns := testNetns(t)
	for _, name := range []string{"runc", "crun", "runsc"} {
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath(name); err != nil {
				t.Skipf("SKIP: %s is not installed (apt install %s)", name, name)
			}
			r := testRuntime(t, name)
			pod := podConfig(netns)
			createPod(t, r, pod)
			test(t, name, r, pod)
		})
	}
}
