package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLayersMountAsOverlay mounts a pulled image the way a sandbox does and
// checks what a container would see.
func TestLayersMountAsOverlay(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:v1")
	img, err := newPuller(t, PullerConfig{}).Pull(context.Background(), reg.host+"/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	upper, wdir, merged := filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "merged")
	for _, d := range []string{upper, wdir, merged} {
		os.Mkdir(d, 0o755)
	}
	// overlayfs lists lowerdirs top first; Image.Layers is lowest first.
	opts := "lowerdir=" + img.Layers[1] + ":" + img.Layers[0] + ",upperdir=" + upper + ",workdir=" + wdir
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("skipping: this machine cannot mount overlayfs here: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if _, err := os.Lstat(filepath.Join(merged, "bin/wget")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bin/wget is visible through its whiteout: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(merged, "bin/sh")); err != nil {
		t.Errorf("bin/sh from the lower layer is missing: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(merged, "opt"))
	if err != nil || len(entries) != 3 {
		t.Errorf("opt holds %d entries (%v), want the top layer's 3", len(entries), err)
	}
}
