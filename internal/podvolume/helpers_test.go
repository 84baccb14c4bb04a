package podvolume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

const (
	podCPU = 500
	podMem = 1 << 30
)

func ptr[T any](v T) *T { return &v }

// clock is a settable Now for token rotation.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newManager(t *testing.T, objects ...runtime.Object) (*Manager, *fake.Clientset, *clock) {
	t.Helper()
	cs := fake.NewClientset(objects...)
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	return &Manager{Client: cs, Root: t.TempDir(), Now: clk.now}, cs, clk
}

// setUp runs Setup and registers a Teardown, so tmpfs mounts never outlive
// the test.
func setUp(t *testing.T, m *Manager, pod *corev1.Pod) map[string]string {
	t.Helper()
	t.Cleanup(func() {
		if err := m.Teardown(string(pod.UID)); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
	dirs, err := m.Setup(t.Context(), pod, podCPU, podMem)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return dirs
}

func newPod(volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "6f1c7c9e-uid",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"team": "payments"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "runner",
			Volumes:            volumes,
			Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: resourceMust("256Mi")}}}},
		},
	}
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Data: data}
}

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// requireMounts skips unless this process may mount a tmpfs.
func requireMounts(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tmpfs (secret, projected and Memory emptyDir volumes)")
	}
	dir := t.TempDir()
	if err := ensureTmpfs(dir, 1<<20, 0o755); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	if err := removePodDir(dir); err != nil {
		t.Fatalf("unmount probe tmpfs: %v", err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func permOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func dataTarget(t *testing.T, dir string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatalf("..data link: %v", err)
	}
	return target
}

func resourceMust(s string) resource.Quantity { return resource.MustParse(s) }

func gidOf(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Gid)
	}
	return -1
}
