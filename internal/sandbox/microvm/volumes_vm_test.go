package microvm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestProjectionKeepsOwnersAndModes: a configMap or secret volume of a pod
// with an fsGroup reaches the guest with the host's groups and modes
// (files 0440 of the fsGroup, directories setgid), so a non-root
// container in that group reads it, as on a kubelet.
func TestProjectionKeepsOwnersAndModes(t *testing.T) {
	v := newTestVM(t)
	ctx := context.Background()
	uid := "vmtest-projection"
	hostDir := filepath.Join(t.TempDir(), "pods", uid, "volumes", "secret")
	ts := filepath.Join(hostDir, "..2026_12_04_01")
	os.MkdirAll(ts, 0o755)
	os.Lchown(ts, -1, 1001)
	exec.Command("chmod", "2755", ts).Run()
	os.WriteFile(filepath.Join(ts, "data-1"), []byte("value-1"), 0o440)
	os.Chmod(filepath.Join(ts, "data-1"), 0o440)
	os.Lchown(filepath.Join(ts, "data-1"), -1, 1001)
	os.Symlink("..2026_12_04_01", filepath.Join(hostDir, "..data"))
	os.Symlink("..data/data-1", filepath.Join(hostDir, "data-1"))
	v.createPod(t, uid)
	cfg := v.container("proj", "sh", "-c", "id; ls -lna /s/ /s/..data/; cat /s/data-1")
	cfg.User = "1000"
	cfg.Security.SupplementalGroups = []uint32{1001}
	cfg.Mounts = []sandbox.Mount{{Source: hostDir, Destination: "/s", ReadOnly: true}}
	st, err := v.rt.StartContainer(ctx, uid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, v.rt, uid, st.ID)
	log, _ := os.ReadFile(filepath.Join(v.logDir, "proj", "0.log"))
	if !strings.Contains(string(log), "value-1") || strings.Contains(string(log), "denied") {
		t.Errorf("a container in the fsGroup cannot read the volume:\n%s", log)
	}
	if !regexp.MustCompile(`drwxr-sr-x +2 0 +1001 .* \.\.2026_12_04_01`).Match(log) {
		t.Errorf("the volume's data directory is not setgid and the fsGroup's:\n%s", log)
	}
}
