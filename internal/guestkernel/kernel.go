// Package guestkernel provides what a microVM boots: Debian's cloud
// kernel as an uncompressed vmlinux (booted through PVH, so no firmware
// or decompressor runs in the guest), the few modules the guest needs
// (virtio over MMIO, block, net, console, vsock; erofs and overlay), and
// an initramfs whose /init is fargo-init. Everything is built once and
// cached; callers on the same cache share it.
package guestkernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kernel is an extracted guest kernel.
type Kernel struct {
	// Vmlinux is the ELF kernel image.
	Vmlinux string
	// Version is its release, like 6.1.0-57-cloud-amd64.
	Version string
	// ModulesDir holds the needed modules and the file "order" listing
	// them, dependencies first; empty when the kernel has them built in.
	ModulesDir string
}

// Package is the Debian metapackage whose kernel guests boot.
const Package = "linux-image-cloud-amd64"

// currentFile names the version the cache holds.
const currentFile = "current"

// Ensure returns the cached kernel, extracting Debian's cloud kernel into
// cacheDir first when the cache is empty (apt-get download, so no package
// is installed on the host).
func Ensure(ctx context.Context, cacheDir string) (Kernel, error) {
	if k, err := cached(cacheDir); err == nil {
		return k, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("guestkernel: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".extract-")
	if err != nil {
		return Kernel{}, fmt.Errorf("guestkernel: %w", err)
	}
	defer os.RemoveAll(tmp)
	version, err := download(ctx, tmp)
	if err != nil {
		return Kernel{}, err
	}
	if err := extract(tmp, version); err != nil {
		return Kernel{}, err
	}
	// The version directory appears whole or not at all; one made for
	// another module list makes way (a running VM keeps what it booted).
	dst := filepath.Join(cacheDir, version)
	if _, err := os.Stat(dst); err == nil && !upToDate(filepath.Join(dst, "modules")) {
		if err := os.RemoveAll(dst); err != nil {
			return Kernel{}, fmt.Errorf("guestkernel: %w", err)
		}
	}
	if err := os.Rename(filepath.Join(tmp, "out"), dst); err != nil && !errors.Is(err, os.ErrExist) && !isNotEmpty(err) {
		return Kernel{}, fmt.Errorf("guestkernel: %w", err)
	}
	if err := writeAtomic(filepath.Join(cacheDir, currentFile), []byte(version)); err != nil {
		return Kernel{}, err
	}
	return cached(cacheDir)
}

func isNotEmpty(err error) bool { return strings.Contains(err.Error(), "directory not empty") }

// cached is the kernel the cache names, if it is complete.
func cached(cacheDir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(cacheDir, currentFile))
	if err != nil {
		return Kernel{}, err
	}
	version := strings.TrimSpace(string(b))
	dir := filepath.Join(cacheDir, version)
	k := Kernel{Vmlinux: filepath.Join(dir, "vmlinux"), Version: version, ModulesDir: filepath.Join(dir, "modules")}
	if _, err := os.Stat(filepath.Join(k.ModulesDir, "order")); err != nil {
		return Kernel{}, err
	}
	if !upToDate(k.ModulesDir) {
		return Kernel{}, fmt.Errorf("guestkernel: %s holds modules for another list than this fargo's", k.ModulesDir)
	}
	return k, nil
}

// upToDate reports whether a cache's modules were copied for Needed.
func upToDate(modulesDir string) bool {
	b, err := os.ReadFile(filepath.Join(modulesDir, neededFile))
	return err == nil && bytes.Equal(b, neededStamp())
}

// FromFile is a kernel the user gives (--guest-kernel): an uncompressed
// vmlinux with the drivers built in, or with a "modules" directory
// beside it holding the .ko files and their "order".
func FromFile(path string) (Kernel, error) {
	if _, err := os.Stat(path); err != nil {
		return Kernel{}, fmt.Errorf("guestkernel: --guest-kernel %s: %w", path, err)
	}
	k := Kernel{Vmlinux: path, Version: filepath.Base(path)}
	if mods := filepath.Join(filepath.Dir(path), "modules"); fileExists(filepath.Join(mods, "order")) {
		k.ModulesDir = mods
	}
	return k, nil
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

// download fetches the versioned kernel package the metapackage depends
// on into dir and unpacks it into dir/pkg; it returns the kernel release.
func download(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", Package).Output()
	if err != nil {
		return "", fmt.Errorf("guestkernel: apt-cache depends %s: %w: pass --guest-kernel PATH, or check the apt sources", Package, err)
	}
	pkg := ""
	for _, line := range strings.Split(string(out), "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
			pkg = dep
		}
	}
	if pkg == "" {
		return "", fmt.Errorf("guestkernel: %s depends on no kernel image: pass --guest-kernel PATH", Package)
	}
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("guestkernel: apt-get download %s: %w: %s; pass --guest-kernel PATH or check the apt sources", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("guestkernel: apt-get download %s left %d packages", pkg, len(debs))
	}
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], filepath.Join(dir, "pkg")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("guestkernel: dpkg-deb -x %s: %w: %s", debs[0], err, out)
	}
	return strings.TrimPrefix(pkg, "linux-image-"), nil
}

// extract writes dir/out/vmlinux and dir/out/modules from dir/pkg.
func extract(dir, version string) error {
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(out, "modules"), 0o755); err != nil {
		return err
	}
	bz, err := os.ReadFile(filepath.Join(dir, "pkg", "boot", "vmlinuz-"+version))
	if err != nil {
		return fmt.Errorf("guestkernel: %w", err)
	}
	elf, err := Vmlinux(bz)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "vmlinux"), elf, 0o644); err != nil {
		return err
	}
	return copyModules(filepath.Join(dir, "pkg", "lib", "modules", version, "kernel"), filepath.Join(out, "modules"))
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
