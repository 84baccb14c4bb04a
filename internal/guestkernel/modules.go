package guestkernel

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Needed are the modules a guest loads (with what they depend on): the
// virtio-mmio transport QEMU's microvm and Firecracker use, block, net
// and console devices, vsock, and the filesystems of image disks and
// container roots. Debian's cloud kernel builds them all as modules.
var Needed = []string{
	"virtio_mmio", "virtio_blk", "virtio_net", "virtio_console",
	"vmw_vsock_virtio_transport", "erofs", "overlay",
	// loop serves an image disk added to a running VM (fargo-init loads
	// it then, not at boot).
	"loop",
}

// neededFile records, beside a cache's modules, the Needed list they were
// copied for: a cache made for another list is extracted again.
const neededFile = "needed"

func neededStamp() []byte { return []byte(strings.Join(Needed, " ") + "\n") }

// modName is a module's name as depends= lists it ('-' reads as '_').
func modName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
}

// copyModules copies Needed and their dependencies from a kernel's
// module tree into dst, with dst/order listing them dependencies first.
func copyModules(tree, dst string) error {
	files := map[string]string{}
	err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".ko") {
			files[modName(path)] = path
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("guestkernel: read modules: %w", err)
	}
	var order []string
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		path, ok := files[name]
		if !ok {
			return nil // built in
		}
		deps, err := dependsOf(path)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		order = append(order, name+".ko")
		return copyFile(path, filepath.Join(dst, name+".ko"))
	}
	for _, name := range Needed {
		if err := visit(name); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dst, neededFile), neededStamp(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "order"), []byte(strings.Join(order, "\n")+"\n"), 0o644)
}

// dependsOf reads the depends= entry of a module's .modinfo section.
func dependsOf(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("guestkernel: %s: %w (compressed modules are not supported)", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
