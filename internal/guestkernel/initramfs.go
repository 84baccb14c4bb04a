package guestkernel

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// InitramfsPath returns the initramfs of kernel k with initBinary as
// /init, building it into cacheDir once per kernel and init binary.
func InitramfsPath(cacheDir string, k Kernel, initBinary string) (string, error) {
	bin, err := os.ReadFile(initBinary)
	if err != nil {
		return "", fmt.Errorf("guestkernel: read fargo-init: %w", err)
	}
	// The modules it carries are part of its identity too.
	order, _ := os.ReadFile(filepath.Join(k.ModulesDir, "order"))
	sum := sha256.Sum256(append(append(bin, k.Version...), order...))
	path := filepath.Join(cacheDir, "initramfs-"+hex.EncodeToString(sum[:8])+".cpio")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	if err := BuildInitramfs(k, initBinary, path); err != nil {
		return "", err
	}
	return path, nil
}

// BuildInitramfs writes a newc cpio archive to outPath, uncompressed (a
// guest under TCG unpacks 4 MiB faster than it inflates 2): /init,
// the kernel's modules under /lib/modules with their load order, and the
// directories fargo-init mounts on.
func BuildInitramfs(k Kernel, initBinary, outPath string) error {
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".initramfs-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	w := &cpioWriter{w: bw}
	for _, dir := range []string{"dev", "proc", "sys", "run", "tmp", "mnt", "lib", "lib/modules"} {
		w.dir(dir)
	}
	if err := w.fileFrom("init", initBinary, 0o755); err != nil {
		return err
	}
	if k.ModulesDir != "" {
		order, err := os.ReadFile(filepath.Join(k.ModulesDir, "order"))
		if err != nil {
			return fmt.Errorf("guestkernel: %w", err)
		}
		w.file("lib/modules/order", order, 0o644)
		for _, name := range strings.Fields(string(order)) {
			if err := w.fileFrom("lib/modules/"+name, filepath.Join(k.ModulesDir, name), 0o644); err != nil {
				return err
			}
		}
	}
	w.trailer()
	if w.err == nil {
		w.err = bw.Flush()
	}
	if w.err == nil {
		w.err = tmp.Close()
	}
	if w.err != nil {
		return fmt.Errorf("guestkernel: write initramfs: %w", w.err)
	}
	return os.Rename(tmp.Name(), outPath)
}

// cpioWriter writes the "newc" cpio format the kernel unpacks.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

func (c *cpioWriter) dir(name string) { c.entry(name, 0o040755, nil) }

func (c *cpioWriter) file(name string, data []byte, perm uint32) { c.entry(name, 0o100000|perm, data) }

func (c *cpioWriter) fileFrom(name, src string, perm uint32) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("guestkernel: %w", err)
	}
	c.file(name, b, perm)
	return nil
}

func (c *cpioWriter) trailer() { c.entry("TRAILER!!!", 0, nil) }

func (c *cpioWriter) entry(name string, mode uint32, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&0o040000 != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	buf = append(buf, data...)
	buf = pad4(buf)
	_, c.err = c.w.Write(buf)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
