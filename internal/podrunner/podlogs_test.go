package podrunner

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestStartedPodsLogsAreTrackedUntilRemoved: starting a container records
// its pod in the log index, which is how Collect and `fargo down` find the
// logs of a pod that finished (no sandbox, no volumes left); removing the
// logs removes the log directory, the links into it and the record.
func TestStartedPodsLogsAreTrackedUntilRemoved(t *testing.T) {
	w, rt, _ := runWorker(t, appPod(corev1.RestartPolicyNever))
	w.a.cfg.LogIndex = t.TempDir()
	round(w)
	if len(rt.Called("StartContainer")) != 1 {
		t.Fatalf("no container started: %v", rt.Called("StartContainer"))
	}
	logs := w.a.logs()
	uid := string(w.uid)
	if got := logs.Tracked(); !slices.Equal(got, []string{uid}) {
		t.Fatalf("tracked %v, want [%s]", got, uid)
	}
	dir := filepath.Join(logs.Dir, "pods", "ns_p_"+uid)
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "0.log"), []byte("line\n"), 0o644)
	link := filepath.Join(logs.Dir, "containers", "p_ns_app-x.log")
	os.MkdirAll(filepath.Dir(link), 0o755)
	os.Symlink(filepath.Join(dir, "app", "0.log"), link)

	if err := logs.Remove(uid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, link, filepath.Join(logs.Index, uid)} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	if got := logs.Tracked(); len(got) != 0 {
		t.Errorf("still tracked: %v", got)
	}
}
