package oci

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPodSandbox(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	a := startContainer(t, r, pod.UID, shellContainer(t, layer, "a", "exec sleep 1000"))
	b := startContainer(t, r, pod.UID, shellContainer(t, layer, "b", "exec sleep 1000"))

	var ownHard unix.Rlimit
	must(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &ownHard))
	wantHard := strconv.FormatUint(min(65535, ownHard.Max), 10)
	var ownNproc unix.Rlimit
	must(t, unix.Getrlimit(unix.RLIMIT_NPROC, &ownNproc))
	wantNprocHard := strconv.FormatUint(min(65535, ownNproc.Max), 10)
	podCgroup := r.podCgroup(pod.UID)

	t.Run("pod cgroup sized", func(t *testing.T) {
		for file, want := range cgroupWant(r, podCgroup) {
			data, err := os.ReadFile(file)
			must(t, err)
			if got := strings.TrimSpace(string(data)); got != want {
				t.Errorf("%s = %q, want %q", file, got, want)
			}
		}
	})
	for _, tc := range []struct {
		name string
		argv []string
		want string
	}{
		// The hard limit is 65535, or the agent's own when lower: raising
		// it needs CAP_SYS_RESOURCE.
		{"nofile", []string{"sh", "-c", "grep 'open files' /proc/1/limits | tr -s ' ' | cut -d' ' -f4,5"}, "1024 " + wantHard},
		{"nproc", []string{"sh", "-c", "grep 'processes' /proc/1/limits | tr -s ' ' | cut -d' ' -f3,4"}, "1024 " + wantNprocHard},
		{"hostname", []string{"hostname"}, pod.Hostname},
		{"resolv.conf", []string{"cat", "/etc/resolv.conf"}, strings.TrimSpace(string(pod.Files["/etc/resolv.conf"]))},
		{"hosts", []string{"cat", "/etc/hosts"}, "127.0.0.1 localhost"},
		// Masked paths read empty (or are missing where the kernel lacks them).
		{"kcore masked", []string{"sh", "-c", "cat /proc/kcore 2>/dev/null | wc -c"}, "0"},
		{"keys masked", []string{"sh", "-c", "cat /proc/keys 2>/dev/null | wc -c"}, "0"},
		{"timer_list masked", []string{"sh", "-c", "cat /proc/timer_list 2>/dev/null | wc -c"}, "0"},
		{"firmware masked", []string{"sh", "-c", "ls /sys/firmware | wc -l"}, "0"},
		{"sys read-only", []string{"sh", "-c", "grep ' /sys ' /proc/mounts | grep -c '[ ,]ro[ ,]'"}, "1"},
		{"proc/sys read-only", []string{"sh", "-c", "(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo writable || echo ro"}, "ro"},
		{"capabilities", []string{"sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t00000000a80425fb"},
		{"pid 1 is the container's", []string{"cat", "/proc/1/cmdline"}, "sleep1000"},
		{"shm writable", []string{"sh", "-c", "echo x > /dev/shm/f && cat /dev/shm/f"}, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.ReplaceAll(execOK(t, r, pod.UID, a.ID, tc.argv...), "\x00", "")
			if got != tc.want {
				t.Fatalf("%q printed %q, want %q", tc.argv, got, tc.want)
			}
		})
	}
	t.Run("containers share ipc, uts, net and shm", func(t *testing.T) {
		for _, ns := range []string{"ipc", "uts", "net"} {
			link := "/proc/self/ns/" + ns
			inA := execOK(t, r, pod.UID, a.ID, "readlink", link)
			inB := execOK(t, r, pod.UID, b.ID, "readlink", link)
			host, _ := os.Readlink(link)
			if inA != inB || inA == host {
				t.Errorf("%s namespace: a %s, b %s, host %s: want a == b != host", ns, inA, inB, host)
			}
		}
		if got := execOK(t, r, pod.UID, b.ID, "cat", "/dev/shm/f"); got != "x" {
			t.Errorf("b sees /dev/shm/f = %q, want a's x", got)
		}
		var netns unix.Stat_t
		must(t, unix.Stat(pod.NetnsPath, &netns))
		if got := execOK(t, r, pod.UID, a.ID, "stat", "-L", "-c", "%i", "/proc/self/ns/net"); got != strconv.FormatUint(netns.Ino, 10) {
			t.Errorf("container netns inode %s, want the pod's %d", got, netns.Ino)
		}
	})
	t.Run("CreatePod again adopts the namespaces", func(t *testing.T) {
		before := execOK(t, r, pod.UID, a.ID, "readlink", "/proc/self/ns/uts")
		createPod(t, r, pod)
		c := startContainer(t, r, pod.UID, shellContainer(t, layer, "c", "exec sleep 1000"))
		if after := execOK(t, r, pod.UID, c.ID, "readlink", "/proc/self/ns/uts"); after != before {
			t.Fatalf("a container started after CreatePod again is in %s, want the pod's %s", after, before)
		}
	})
}

// cgroupWant are the pod cgroup's files and values for 250m and 64 MiB.
func cgroupWant(r *Runtime, path string) map[string]string {
	mem := strconv.Itoa(64 << 20)
	if r.cgroups.unified {
		dir := filepath.Join(r.cgroups.v2Root, path)
		return map[string]string{dir + "/cpu.max": "25000 100000", dir + "/memory.max": mem}
	}
	return map[string]string{
		filepath.Join(r.cgroups.v1["cpu"], path, "cpu.cfs_quota_us"):         "25000",
		filepath.Join(r.cgroups.v1["cpu"], path, "cpu.cfs_period_us"):        "100000",
		filepath.Join(r.cgroups.v1["memory"], path, "memory.limit_in_bytes"): mem,
	}
}

func TestUserResolution(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	for i, tc := range []struct {
		user, want string
	}{
		{"", "uid=0(root) gid=0(root) groups=0(root)"},
		{"app", "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)"},
		{"1000", "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)"},
		{"1234:5678", "uid=1234 gid=5678 groups=5678"},
		{"app:root", "uid=1000(app) gid=0(root) groups=0(root),2000(extra)"},
	} {
		t.Run("user "+tc.user, func(t *testing.T) {
			cfg := shellContainer(t, layer, "user"+strconv.Itoa(i), "exec sleep 1000")
			cfg.User = tc.user
			st := startContainer(t, r, pod.UID, cfg)
			if got := execOK(t, r, pod.UID, st.ID, "id"); got != tc.want {
				t.Fatalf("id = %q, want %q", got, tc.want)
			}
			if tc.user != "" {
				// A non-root user starts without effective capabilities.
				if got := execOK(t, r, pod.UID, st.ID, "sh", "-c", "grep CapEff /proc/self/status"); got != "CapEff:\t0000000000000000" {
					t.Fatalf("non-root %s", got)
				}
			}
			must(t, r.StopContainer(context.Background(), pod.UID, st.ID, 0))
		})
	}
	t.Run("unknown name", func(t *testing.T) {
		cfg := shellContainer(t, layer, "nouser", "true")
		cfg.User = "nobody"
		_, err := r.StartContainer(context.Background(), pod.UID, cfg)
		if err == nil || !strings.Contains(err.Error(), "numeric UID") {
			t.Fatalf("err = %v, want one naming the fix (numeric UID)", err)
		}
	})
}

func TestPodWithoutNetnsIsNotOnTheHostNetwork(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig("")
	createPod(t, r, pod)
	st := startContainer(t, r, pod.UID, shellContainer(t, layer, "app", "exec sleep 1000"))
	host, _ := os.Readlink("/proc/self/ns/net")
	if got := execOK(t, r, pod.UID, st.ID, "readlink", "/proc/self/ns/net"); got == host {
		t.Fatalf("container without a NetnsPath is in the host's network namespace %s", host)
	}
}
