package podvolume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

func TestMounts(t *testing.T) {
	m, _, _ := newManager(t, configMap("settings", map[string]string{"app.yaml": "a: 1"}))
	pod := newPod(emptyDir("scratch", "", ""), cmVolume("cfg", "settings", nil, nil))
	dirs := setUp(t, m, pod)
	scratch, cfg := dirs["scratch"], dirs["cfg"]
	// A container made a link to the host's /etc in its emptyDir.
	if err := os.Symlink("/etc", filepath.Join(scratch, "escape")); err != nil {
		t.Fatal(err)
	}
	env := []string{"POD_NAME=web-1", "EMPTY="}
	tests := []struct {
		name    string
		mount   corev1.VolumeMount
		want    sandbox.Mount
		wantErr string
	}{
		{
			name:  "whole emptyDir, writable",
			mount: corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"},
			want:  sandbox.Mount{Source: scratch, Destination: "/scratch"},
		},
		{
			name:  "readOnly mount",
			mount: corev1.VolumeMount{Name: "scratch", MountPath: "/scratch", ReadOnly: true},
			want:  sandbox.Mount{Source: scratch, Destination: "/scratch", ReadOnly: true},
		},
		{
			name:  "configMap is always read-only",
			mount: corev1.VolumeMount{Name: "cfg", MountPath: "/etc/app"},
			want:  sandbox.Mount{Source: cfg, Destination: "/etc/app", ReadOnly: true},
		},
		{
			name:  "subPath of a configMap is pinned to the current version",
			mount: corev1.VolumeMount{Name: "cfg", MountPath: "/etc/app.yaml", SubPath: "app.yaml"},
			want:  sandbox.Mount{Source: filepath.Join(cfg, "..pins/app.0"), Destination: "/etc/app.yaml", ReadOnly: true},
		},
		{
			name:  "missing subPath is created as a directory",
			mount: corev1.VolumeMount{Name: "scratch", MountPath: "/logs", SubPath: "logs/app"},
			want:  sandbox.Mount{Source: filepath.Join(scratch, "logs/app"), Destination: "/logs"},
		},
		{
			name:  "subPathExpr expands the container's env",
			mount: corev1.VolumeMount{Name: "scratch", MountPath: "/data", SubPathExpr: "pods/$(POD_NAME)"},
			want:  sandbox.Mount{Source: filepath.Join(scratch, "pods/web-1"), Destination: "/data"},
		},
		{
			name:  "a symlink in the volume cannot lead out of it",
			mount: corev1.VolumeMount{Name: "scratch", MountPath: "/host-etc", SubPath: "escape"},
			want:  sandbox.Mount{Source: filepath.Join(scratch, "etc"), Destination: "/host-etc"},
		},
		{
			name:    "subPathExpr with unset or empty variables",
			mount:   corev1.VolumeMount{Name: "scratch", MountPath: "/data", SubPathExpr: "$(NOPE)/$(EMPTY)"},
			wantErr: "missing value for EMPTY, NOPE",
		},
		{
			name:    "absolute subPath",
			mount:   corev1.VolumeMount{Name: "scratch", MountPath: "/data", SubPath: "/etc"},
			wantErr: "error SubPath `/etc` must not be an absolute path",
		},
		{
			name:    "subPath with ..",
			mount:   corev1.VolumeMount{Name: "scratch", MountPath: "/data", SubPath: "a/../../x"},
			wantErr: "unable to provision SubPath `a/../../x`: must not contain '..'",
		},
		{
			name:    "unknown volume",
			mount:   corev1.VolumeMount{Name: "nope", MountPath: "/x"},
			wantErr: `cannot find volume "nope" to mount into container "app"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{tt.mount}}
			got, err := Mounts(pod, c, dirs, env)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Mounts = %+v, want [%+v]", got, tt.want)
			}
			if !strings.HasPrefix(got[0].Source, m.Root) {
				t.Errorf("source %s is outside Root %s", got[0].Source, m.Root)
			}
			if _, err := os.Stat(got[0].Source); err != nil {
				t.Errorf("source missing: %v", err)
			}
		})
	}
}

func TestMountsKeepsOrder(t *testing.T) {
	pod := newPod(emptyDir("a", "", ""), emptyDir("b", "", ""))
	dirs := map[string]string{"a": t.TempDir(), "b": t.TempDir()}
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "b", MountPath: "/b"}, {Name: "a", MountPath: "/a"}, {Name: "b", MountPath: "/b2"},
	}}
	got, err := Mounts(pod, c, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, mnt := range got {
		dests = append(dests, mnt.Destination)
	}
	if strings.Join(dests, ",") != "/b,/a,/b2" {
		t.Errorf("destinations = %v, want /b,/a,/b2 (declaration order)", dests)
	}
}

func TestMountsSubPathOfConfigMapKeepsItsVersion(t *testing.T) {
	m, cs, _ := newManager(t, configMap("settings", map[string]string{"app.yaml": "v1", "extra.yaml": "e1"}))
	pod := newPod(corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
		Items:                []corev1.KeyToPath{{Key: "app.yaml", Path: "app.yaml"}, {Key: "extra.yaml", Path: "conf/extra.yaml"}}}}})
	dirs := setUp(t, m, pod)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/app.yaml", SubPath: "app.yaml"},
		{Name: "cfg", MountPath: "/etc/conf", SubPath: "conf"},
		{Name: "cfg", MountPath: "/etc/all"},
	}}
	mounts, err := Mounts(pod, c, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated := configMap("settings", map[string]string{"app.yaml": "v2", "extra.yaml": "e2"})
	if _, err := cs.CoreV1().ConfigMaps("shop").Update(t.Context(), updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, path, want string }{
		{"subPath file keeps the old contents", mounts[0].Source, "v1"},
		{"subPath directory keeps the old contents", filepath.Join(mounts[1].Source, "extra.yaml"), "e1"},
		{"whole volume shows the update", filepath.Join(mounts[2].Source, "app.yaml"), "v2"},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			if got := readFile(t, ck.path); got != ck.want {
				t.Errorf("%s = %q, want %q", ck.path, got, ck.want)
			}
		})
	}
	t.Run("a new run of the container sees the new version", func(t *testing.T) {
		again, err := Mounts(pod, c, dirs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, again[0].Source); got != "v2" {
			t.Errorf("subPath = %q on the next run, want v2", got)
		}
	})
}

// TestSubPathKeepsTheVolumesMode: a missing subPath is made with the
// volume's mode, setgid and sticky bits included, as a kubelet makes it.
func TestSubPathKeepsTheVolumesMode(t *testing.T) {
	vol := t.TempDir()
	if err := os.Chmod(vol, 0o777|os.ModeSetgid|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(vol, "test-sub")
	if err := makeSubPath(vol, sub); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(sub)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode(); got != os.ModeDir|0o777|os.ModeSetgid|os.ModeSticky {
		t.Fatalf("mode %v, want dgtrwxrwxrwx", got)
	}
}
