package podvolume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func emptyDir(name string, medium corev1.StorageMedium, limit string) corev1.Volume {
	src := &corev1.EmptyDirVolumeSource{Medium: medium}
	if limit != "" {
		q := resource.MustParse(limit)
		src.SizeLimit = &q
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}
}

func TestSetupEmptyDirOnDisk(t *testing.T) {
	m, _, _ := newManager(t)
	pod := newPod(emptyDir("scratch", "", ""))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(2000))}
	dir := setUp(t, m, pod)["scratch"]
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode() & (os.ModePerm | os.ModeSetgid); got != 0o777|os.ModeSetgid {
		t.Errorf("mode = %v, want drwxrwsrwx (world-writable, setgid for fsGroup)", info.Mode())
	}
	if gidOf(info) != 2000 {
		t.Errorf("group = %d, want fsGroup 2000", gidOf(info))
	}
	if mounted, _ := mountinfo.Mounted(dir); mounted {
		t.Errorf("disk emptyDir is a mount point")
	}
	if err := os.WriteFile(filepath.Join(dir, "kept"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(t.Context(), pod, podCPU, podMem); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "kept")); got != "x" {
		t.Errorf("second Setup lost the pod's data")
	}
}

func TestSetupEmptyDirMemory(t *testing.T) {
	requireMounts(t)
	tests := []struct {
		name, limit, wantSize string
	}{
		{name: "sizeLimit bounds the tmpfs", limit: "64Mi", wantSize: "size=65536k"},
		{name: "no sizeLimit: the pod's memory", wantSize: "size=1048576k"},
		{name: "sizeLimit above the pod's memory: the pod's memory", limit: "4Gi", wantSize: "size=1048576k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := newManager(t)
			pod := newPod(emptyDir("cache", corev1.StorageMediumMemory, tt.limit))
			dir := setUp(t, m, pod)["cache"]
			opts := mountOptions(t, dir)
			if !strings.Contains(opts, "tmpfs") || !strings.Contains(opts, tt.wantSize) {
				t.Errorf("mount of %s = %q, want a tmpfs with %s", dir, opts, tt.wantSize)
			}
			// As a kubelet leaves a tmpfs root: 1777.
			if info, err := os.Stat(dir); err != nil || info.Mode()&(os.ModePerm|os.ModeSticky) != 0o777|os.ModeSticky {
				t.Errorf("mode of %s = %v (%v), want dtrwxrwxrwx", dir, info.Mode(), err)
			}
			if _, err := m.Setup(t.Context(), pod, podCPU, podMem); err != nil {
				t.Fatalf("second Setup: %v", err)
			}
			if points, _ := mountPointsUnder(dir); len(points) != 1 {
				t.Errorf("second Setup stacked mounts: %v", points)
			}
			if err := m.Teardown(string(pod.UID)); err != nil {
				t.Fatal(err)
			}
			if points, _ := mountPointsUnder(m.Root); len(points) != 0 {
				t.Errorf("Teardown left mounts: %v", points)
			}
		})
	}
}

// mountOptions returns the mountinfo line of the mount on dir.
func mountOptions(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == resolved(dir) {
			return line
		}
	}
	t.Fatalf("%s is not mounted", dir)
	return ""
}

func TestTeardownLeavesNothing(t *testing.T) {
	requireMounts(t)
	m, cs, clk := newManager(t,
		configMap("settings", map[string]string{"a": "1"}),
		configMap("kube-root-ca.crt", map[string]string{"ca.crt": "ca"}),
		secret("creds", map[string]string{"password": "s3cret"}))
	(&tokenServer{clock: clk}).install(cs)
	pod := newPod(
		emptyDir("scratch", "", ""),
		emptyDir("cache", corev1.StorageMediumMemory, "16Mi"),
		cmVolume("cfg", "settings", nil, nil),
		corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		kubeAPIAccess(nil, ""),
	)
	other := newPod(emptyDir("scratch", "", ""))
	other.UID = "another-pod"
	setUp(t, m, other)
	dirs := setUp(t, m, pod)
	if len(dirs) != 5 {
		t.Fatalf("Setup gave %d dirs, want 5: %v", len(dirs), dirs)
	}
	if got := readFile(t, filepath.Join(dirs["creds"], "password")); got != "s3cret" {
		t.Errorf("secret password = %q", got)
	}
	if mounted, _ := mountinfo.Mounted(dirs["creds"]); !mounted {
		t.Errorf("secret volume is not on a tmpfs")
	}
	if err := m.Teardown(string(pod.UID)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(m.Root, string(pod.UID))); !os.IsNotExist(err) {
		t.Errorf("pod directory still there: %v", err)
	}
	if points, _ := mountPointsUnder(m.Root); len(points) != 0 {
		t.Errorf("mounts left: %v", points)
	}
	if _, err := os.Stat(filepath.Join(m.Root, "another-pod", "volumes", "scratch")); err != nil {
		t.Errorf("Teardown of one pod touched another: %v", err)
	}
	if err := m.Teardown(string(pod.UID)); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

func TestTeardownRefusesBadUID(t *testing.T) {
	m, _, _ := newManager(t)
	for _, uid := range []string{"", "..", "a/../../etc"} {
		t.Run(uid, func(t *testing.T) {
			if err := m.Teardown(uid); err == nil {
				t.Errorf("Teardown(%q) = nil, want an error", uid)
			}
		})
	}
}
