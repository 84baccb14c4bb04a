package podvolume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// pinsDir holds, inside a configMap, secret, downwardAPI or projected
// volume, the files that subPath mounts show.
//
// Why: a subPath resolves to a file of one version (..2026_.../key). When an
// update publishes a new version, the old one is deleted, and Linux detaches
// a bind mount whose source is deleted in another mount namespace, so the
// container would suddenly see an empty file. A kubelet keeps such a mount
// on the old contents until the container restarts; hard links in pinsDir
// do the same, and stay until Teardown. They live inside the volume so they
// share its filesystem (a tmpfs for secrets).
const pinsDir = "..pins"

// pinSubPath hard-links source (a file or a directory tree inside volumeDir)
// to volumeDir/..pins/name and returns that path. An earlier pin of that
// name, left by a previous run of the container, is replaced.
func pinSubPath(volumeDir, source, name string) (string, error) {
	if strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("invalid pin name %q", name)
	}
	pin := filepath.Join(volumeDir, pinsDir, name)
	if err := os.RemoveAll(pin); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(pin), 0o755); err != nil {
		return "", err
	}
	err := filepath.WalkDir(source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(source, p)
		return linkInto(p, filepath.Join(pin, rel), d)
	})
	if err != nil {
		os.RemoveAll(pin)
		return "", err
	}
	return pin, nil
}

// linkInto copies a directory's mode and group, or hard-links a file.
// Symlinks are not followed: a projected volume's own files hold none.
func linkInto(src, dst string, d fs.DirEntry) error {
	if !d.IsDir() {
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		return os.Link(src, dst)
	}
	info, err := d.Info()
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, info.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dst, info.Mode()&(fs.ModePerm|fs.ModeSetgid))
}
