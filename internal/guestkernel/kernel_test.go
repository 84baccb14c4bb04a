package guestkernel

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCacheOfAnotherModuleListIsStale: a cached kernel whose modules were
// copied for another Needed list (an older fargo's) is not used, so the
// next Ensure extracts the modules this fargo needs.
func TestCacheOfAnotherModuleListIsStale(t *testing.T) {
	dir := t.TempDir()
	modules := filepath.Join(dir, "6.1.0-test", "modules")
	os.MkdirAll(modules, 0o755)
	os.WriteFile(filepath.Join(dir, currentFile), []byte("6.1.0-test\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "6.1.0-test", "vmlinux"), []byte("elf"), 0o644)
	os.WriteFile(filepath.Join(modules, "order"), []byte("erofs.ko\n"), 0o644)

	if _, err := cached(dir); err == nil {
		t.Error("a cache without the module list it was made for is used")
	}
	os.WriteFile(filepath.Join(modules, neededFile), []byte("virtio_mmio erofs\n"), 0o644)
	if _, err := cached(dir); err == nil {
		t.Error("a cache made for another module list is used")
	}
	os.WriteFile(filepath.Join(modules, neededFile), neededStamp(), 0o644)
	k, err := cached(dir)
	if err != nil || k.Version != "6.1.0-test" || k.ModulesDir != modules {
		t.Errorf("an up-to-date cache: %+v, %v", k, err)
	}
}
