package oci

import (
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestTerminationMessage: the container writes its termination message
// file, as a non-root user too, and the exited attempt reports its end.
func TestTerminationMessage(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	long := strings.Repeat("x", sandbox.MaxTerminationMessage)
	for _, tc := range []struct {
		name, path, user, script, want string
	}{
		{"default path", "/dev/termination-log", "", "echo -n DONE > /dev/termination-log", "DONE"},
		{"non-root, other path", "/tmp/termination-custom-log", "1000", "echo -n DONE > /tmp/termination-custom-log", "DONE"},
		{"only the last 4 KiB", "/dev/termination-log", "", "echo -n HEAD" + long + " > /dev/termination-log; exit 1", long},
		{"nothing written", "/dev/termination-log", "", "exit 0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shellContainer(t, layer, strings.NewReplacer(" ", "-", ",", "").Replace(tc.name), tc.script)
			cfg.TerminationMessagePath, cfg.User = tc.path, tc.user
			st := startContainer(t, r, pod.UID, cfg)
			exit := waitExit(t, r, st.ID, 10*time.Second)
			if exit.TerminationMessage != tc.want {
				t.Fatalf("termination message %q (exit %d), want %q", trim(exit.TerminationMessage), exit.ExitCode, trim(tc.want))
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-20:]
	}
	return s
}

// TestSecurityContext: a read-only root, no new privileges, more groups,
// dropped capabilities and a sysctl reach the container's process.
func TestSecurityContext(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	cfg := shellContainer(t, layer, "secure", "sleep 300")
	cfg.User = "1000:1000"
	cfg.Security = sandbox.Security{
		ReadOnlyRootfs: true, NoNewPrivileges: true,
		SupplementalGroups: []uint32{50000, 60000},
		DropCapabilities:   []string{"ALL"},
		Sysctls:            map[string]string{"kernel.shm_rmid_forced": "1"},
	}
	st := startContainer(t, r, pod.UID, cfg)
	for _, check := range []struct{ argv, want string }{
		{"id -G", "50000 60000"},
		{"grep NoNewPrivs /proc/self/status", "NoNewPrivs:\t1"},
		{"grep CapBnd /proc/self/status", "CapBnd:\t0000000000000000"},
		{"cat /proc/sys/kernel/shm_rmid_forced", "1"},
		{"touch /rootfs-file 2>&1; echo $?", "Read-only file system"},
	} {
		out := execOK(t, r, pod.UID, st.ID, "sh", "-c", check.argv)
		if !strings.Contains(out, check.want) {
			t.Errorf("%s: %q, want %q", check.argv, out, check.want)
		}
	}
}
