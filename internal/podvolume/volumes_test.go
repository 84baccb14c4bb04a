package podvolume

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cmVolume(name, cm string, items []corev1.KeyToPath, mode *int32) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Items: items, DefaultMode: mode}}}
}

func TestSetupConfigMap(t *testing.T) {
	settings := configMap("settings", map[string]string{"app.yaml": "mode: fast\n", "level": "3"})
	settings.BinaryData = map[string][]byte{"logo.bin": {0, 1, 2}}
	type wantFile struct {
		content string
		mode    os.FileMode
	}
	tests := []struct {
		name    string
		vol     corev1.Volume
		fsGroup *int64
		want    map[string]wantFile
		absent  []string
	}{
		{
			name: "every key with the default mode 0644",
			vol:  cmVolume("cfg", "settings", nil, nil),
			want: map[string]wantFile{"app.yaml": {"mode: fast\n", 0o644}, "level": {"3", 0o644}, "logo.bin": {"\x00\x01\x02", 0o644}},
		},
		{
			name: "defaultMode applies to every key",
			vol:  cmVolume("cfg", "settings", nil, ptr(int32(0o600))),
			want: map[string]wantFile{"app.yaml": {"mode: fast\n", 0o600}, "level": {"3", 0o600}},
		},
		{
			name: "items pick keys, paths and modes",
			vol: cmVolume("cfg", "settings", []corev1.KeyToPath{
				{Key: "app.yaml", Path: "conf/app.yaml", Mode: ptr(int32(0o400))},
				{Key: "level", Path: "level.txt"},
			}, ptr(int32(0o640))),
			want:   map[string]wantFile{"conf/app.yaml": {"mode: fast\n", 0o400}, "level.txt": {"3", 0o640}},
			absent: []string{"app.yaml", "level", "logo.bin"},
		},
		{
			name:    "fsGroup adds group read",
			vol:     cmVolume("cfg", "settings", []corev1.KeyToPath{{Key: "level", Path: "level", Mode: ptr(int32(0o600))}}, nil),
			fsGroup: ptr(int64(2000)),
			want:    map[string]wantFile{"level": {"3", 0o640}},
		},
		{
			name: "optional missing configMap gives an empty volume",
			vol: corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}}},
			want: map[string]wantFile{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := newManager(t, settings)
			pod := newPod(tt.vol)
			if tt.fsGroup != nil {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: tt.fsGroup}
			}
			dir := setUp(t, m, pod)["cfg"]
			if want := filepath.Join(m.Root, string(pod.UID), "volumes", "cfg"); dir != want {
				t.Fatalf("dir = %s, want %s", dir, want)
			}
			for p, wf := range tt.want {
				if got := readFile(t, filepath.Join(dir, p)); got != wf.content {
					t.Errorf("%s = %q, want %q", p, got, wf.content)
				}
				if got := permOf(t, filepath.Join(dir, p)); got != wf.mode {
					t.Errorf("%s mode = %o, want %o", p, got, wf.mode)
				}
				if tt.fsGroup != nil {
					if info, _ := os.Stat(filepath.Join(dir, p)); info.Sys() != nil && gidOf(info) != *tt.fsGroup {
						t.Errorf("%s group = %d, want fsGroup %d", p, gidOf(info), *tt.fsGroup)
					}
				}
			}
			for _, p := range tt.absent {
				if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists, want it absent", p)
				}
			}
			dataTarget(t, dir) // published through ..data
		})
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name     string
		vol      corev1.Volume
		want     string
		notFound bool
	}{
		{
			name:     "missing configMap",
			vol:      cmVolume("cfg", "x", nil, nil),
			want:     `MountVolume.SetUp failed for volume "cfg" : configmap "x" not found`,
			notFound: true,
		},
		{
			name: "missing secret",
			vol: corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: "x"}}},
			want:     `MountVolume.SetUp failed for volume "creds" : secret "x" not found`,
			notFound: true,
		},
		{
			name: "missing configMap key in items",
			vol:  cmVolume("cfg", "settings", []corev1.KeyToPath{{Key: "nope", Path: "nope"}}, nil),
			want: `MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: nope`,
		},
		{
			name: "missing configMap in a projected volume",
			vol: corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}}}}},
			want:     `MountVolume.SetUp failed for volume "all" : configmap "x" not found`,
			notFound: true,
		},
		{
			name: "persistentVolumeClaim",
			vol: corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: "pvc-1"}}},
			want: `MountVolume.SetUp failed for volume "data" : persistentVolumeClaim volumes are not supported on fargo hosts yet (claim "pvc-1"): use emptyDir for scratch space`,
		},
		{
			name: "hostPath",
			vol: corev1.Volume{Name: "hostroot", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: "/"}}},
			want: `MountVolume.SetUp failed for volume "hostroot" : volume type not supported on fargo hosts: use emptyDir, configMap, secret, downwardAPI or projected`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := newManager(t, configMap("settings", map[string]string{"a": "1"}))
			pod := newPod(tt.vol)
			t.Cleanup(func() { m.Teardown(string(pod.UID)) })
			dirs, err := m.Setup(t.Context(), pod, podCPU, podMem)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Setup error = %v\nwant %s", err, tt.want)
			}
			if dirs != nil {
				t.Errorf("Setup returned dirs %v with an error", dirs)
			}
			var setUpErr *SetUpError
			if !errors.As(err, &setUpErr) || setUpErr.Volume != tt.vol.Name {
				t.Errorf("error is not a *SetUpError for %q: %#v", tt.vol.Name, err)
			}
			if got := apierrors.IsNotFound(err); got != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.notFound)
			}
		})
	}
}

func TestSetupDownwardAPI(t *testing.T) {
	m, _, _ := newManager(t)
	pod := newPod(corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
			{Path: "meta/name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: ptr(int32(0o400))},
			{Path: "mem_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: "app", Resource: "limits.memory", Divisor: resourceMust("1Mi")}},
			{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: "app", Resource: "limits.cpu", Divisor: resourceMust("1m")}},
		}}}})
	dir := setUp(t, m, pod)["info"]
	want := map[string]string{
		"labels":      `app="web"`,
		"annotations": `team="payments"`,
		"meta/name":   "web-1",
		"mem_limit":   "256",
		"cpu_limit":   "500", // no limit: the pod's provisioned vCPU
	}
	for p, content := range want {
		t.Run(p, func(t *testing.T) {
			if got := readFile(t, filepath.Join(dir, p)); got != content {
				t.Errorf("%s = %q, want %q", p, got, content)
			}
		})
	}
	if got := permOf(t, filepath.Join(dir, "meta/name")); got != 0o400 {
		t.Errorf("meta/name mode = %o, want 400", got)
	}
}

func TestRefreshShowsConfigMapUpdate(t *testing.T) {
	m, cs, _ := newManager(t, configMap("settings", map[string]string{"mode": "fast", "old": "x"}))
	pod := newPod(cmVolume("cfg", "settings", nil, nil))
	dir := setUp(t, m, pod)["cfg"]
	first := dataTarget(t, dir)

	t.Run("nothing changed: nothing written", func(t *testing.T) {
		if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
			t.Fatal(err)
		}
		if got := dataTarget(t, dir); got != first {
			t.Errorf("..data moved from %s to %s without a change", first, got)
		}
	})
	t.Run("update swaps ..data and drops removed keys", func(t *testing.T) {
		updated := configMap("settings", map[string]string{"mode": "slow", "new": "y"})
		if _, err := cs.CoreV1().ConfigMaps("shop").Update(t.Context(), updated, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "mode")); got != "slow" {
			t.Errorf("mode = %q after Refresh, want slow", got)
		}
		if got := readFile(t, filepath.Join(dir, "new")); got != "y" {
			t.Errorf("new = %q, want y", got)
		}
		if _, err := os.Lstat(filepath.Join(dir, "old")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("removed key still visible: %v", err)
		}
		second := dataTarget(t, dir)
		if second == first {
			t.Fatalf("..data still points at %s", first)
		}
		if _, err := os.Stat(filepath.Join(dir, first)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("old version %s left behind", first)
		}
		if link, _ := os.Readlink(filepath.Join(dir, "mode")); link != "..data/mode" {
			t.Errorf("mode links to %q, want ..data/mode", link)
		}
	})
	t.Run("deleted configMap keeps the last contents", func(t *testing.T) {
		if err := cs.CoreV1().ConfigMaps("shop").Delete(t.Context(), "settings", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err := m.Refresh(t.Context(), pod, podCPU, podMem)
		if want := `MountVolume.SetUp failed for volume "cfg" : configmap "settings" not found`; err == nil || err.Error() != want {
			t.Errorf("Refresh error = %v, want %s", err, want)
		}
		if got := readFile(t, filepath.Join(dir, "mode")); got != "slow" {
			t.Errorf("mode = %q, want the last contents (slow)", got)
		}
	})
}

func TestRefreshWithoutSetupWritesNothing(t *testing.T) {
	m, _, _ := newManager(t, configMap("settings", map[string]string{"a": "1"}))
	pod := newPod(cmVolume("cfg", "settings", nil, nil))
	if err := m.Refresh(t.Context(), pod, podCPU, podMem); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(m.Root); len(entries) != 0 {
		t.Errorf("Refresh before Setup made %d entries in Root", len(entries))
	}
}
