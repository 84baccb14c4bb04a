// Package vmdisk makes the block images a microVM's pod runs from: one
// read-only erofs image per container image, built once from its unpacked
// layers and shared by every VM that runs it, and a sparse ext4 scratch
// disk per pod for writable layers and emptyDirs, whose size bounds the
// pod's ephemeral storage.
package vmdisk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// building serialises builds of the same image within this process;
// across processes the rename at the end makes the result whole.
var building sync.Map // key -> *sync.Mutex

// ImageDisk returns cacheDir/<key>.erofs, the merged tree of layers
// (unpacked overlayfs-format layer directories, lowest first), building
// it when missing.
func ImageDisk(ctx context.Context, cacheDir string, layers []string) (string, error) {
	if len(layers) == 0 {
		return "", errors.New("vmdisk: an image with no layers")
	}
	sum := sha256.Sum256([]byte(strings.Join(layers, "\n")))
	key := hex.EncodeToString(sum[:16])
	path := filepath.Join(cacheDir, key+".erofs")
	mu, _ := building.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if _, err := os.Stat(path); err == nil {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // used: Prune keeps it
		return path, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("vmdisk: %w", err)
	}
	// What the disk was made from, so Prune knows when its image is gone.
	if err := os.WriteFile(layersFile(path), []byte(strings.Join(layers, "\n")), 0o644); err != nil {
		return "", fmt.Errorf("vmdisk: %w", err)
	}
	if err := build(ctx, path, layers); err != nil {
		return "", err
	}
	return path, nil
}

func layersFile(disk string) string { return strings.TrimSuffix(disk, ".erofs") + ".layers" }

// Prune removes the image disks of cacheDir that no VM uses (inUse, by
// path) and whose image is gone from the host (a layer was collected) or
// that were not used for maxUnused (0: no age limit). It returns how many
// it removed.
func Prune(cacheDir string, inUse map[string]bool, maxUnused time.Duration) (int, error) {
	disks, err := filepath.Glob(filepath.Join(cacheDir, "*.erofs"))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range disks {
		if inUse[d] || !stale(d, maxUnused) {
			continue
		}
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("vmdisk: %w", err)
		}
		_ = os.Remove(layersFile(d))
		removed++
	}
	return removed, nil
}

// stale says whether disk d's image is gone or it went unused too long.
func stale(d string, maxUnused time.Duration) bool {
	info, err := os.Stat(d)
	if err != nil {
		return false
	}
	if maxUnused > 0 && time.Since(info.ModTime()) > maxUnused {
		return true
	}
	b, err := os.ReadFile(layersFile(d))
	if err != nil {
		return true // made by no ImageDisk of this version: nothing says what it is
	}
	for _, l := range strings.Split(string(b), "\n") {
		if _, err := os.Stat(l); err != nil {
			return true
		}
	}
	return false
}

// build merges the layers with a read-only overlay mount (which applies
// whiteouts and opaque directories as the container would see them) and
// makes the erofs image from the merged view.
func build(ctx context.Context, path string, layers []string) error {
	mnt, err := os.MkdirTemp(filepath.Dir(path), ".merge-")
	if err != nil {
		return fmt.Errorf("vmdisk: %w", err)
	}
	defer os.Remove(mnt)
	lower := make([]string, len(layers))
	for i, l := range layers {
		lower[len(layers)-1-i] = l // overlay lists the top layer first
	}
	// A single lower dir needs a second one for overlay to mount read-only.
	if len(lower) == 1 {
		empty, err := os.MkdirTemp(filepath.Dir(path), ".empty-")
		if err != nil {
			return err
		}
		defer os.Remove(empty)
		lower = append(lower, empty)
	}
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lower, ":")); err != nil {
		return fmt.Errorf("vmdisk: merge %d layers: %w", len(layers), err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	out, err := exec.CommandContext(ctx, "mkfs.erofs", "-Enoinline_data", tmp, mnt).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return errors.New("vmdisk: mkfs.erofs not found: install the Debian package erofs-utils")
	}
	if err != nil {
		return fmt.Errorf("vmdisk: mkfs.erofs: %w: %s", err, out)
	}
	return os.Rename(tmp, path)
}

// ScratchDisk makes path a sparse file of sizeBytes holding an empty
// ext4 filesystem, unless it already is one of that size.
func ScratchDisk(path string, sizeBytes int64) error {
	if info, err := os.Stat(path); err == nil && info.Size() == sizeBytes {
		return nil
	}
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("vmdisk: %w", err)
	}
	err = f.Truncate(sizeBytes)
	f.Close()
	if err != nil {
		return fmt.Errorf("vmdisk: %w", err)
	}
	// No journal (the disk dies with the pod) and lazy inode tables: the
	// format writes a few MiB, not a pass over the whole size.
	out, err := exec.Command("mkfs.ext4", "-F", "-q", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard",
		"-m", "0", tmp).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return errors.New("vmdisk: mkfs.ext4 not found: install the Debian package e2fsprogs")
	}
	if err != nil {
		return fmt.Errorf("vmdisk: mkfs.ext4: %w: %s", err, out)
	}
	return os.Rename(tmp, path)
}
