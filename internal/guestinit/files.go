package guestinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// files makes or refreshes a volume.
func (s *server) files(b vmproto.Files) error {
	if err := plainName("volume", b.Volume); err != nil {
		return err
	}
	s.mu.Lock()
	path, exists := s.volumes[b.Volume]
	s.mu.Unlock()
	switch b.Kind {
	case vmproto.VolumeEmpty:
		if exists {
			return nil
		}
		path = filepath.Join(scratchDir, "volumes", b.Volume)
		if err := makeEmptyDir(path, b); err != nil {
			return fmt.Errorf("emptyDir %s: %w", b.Volume, err)
		}
	case vmproto.VolumeFile:
		if exists {
			return nil
		}
		if len(b.Entries) != 1 {
			return fmt.Errorf("file volume %s: want one entry", b.Volume)
		}
		path = filepath.Join(volumesDir, b.Volume)
		if err := os.WriteFile(path, b.Entries[0].Data, os.FileMode(b.Entries[0].Mode)); err != nil {
			return err
		}
	default:
		path = filepath.Join(volumesDir, b.Volume)
		if err := applyTree(path, b.Entries); err != nil {
			return fmt.Errorf("volume %s: %w", b.Volume, err)
		}
	}
	s.mu.Lock()
	s.volumes[b.Volume] = path
	s.mu.Unlock()
	return nil
}

// plainName refuses a name the host sent that would not stay one path
// element under the guest's directories.
func plainName(what, name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("bad %s name %q", what, name)
	}
	return nil
}

// makeEmptyDir makes an emptyDir as the host's is: a directory anyone in
// the pod may write (or a tmpfs of the host's size), with the host's
// mode and group, so files made in it take the fsGroup.
func makeEmptyDir(path string, b vmproto.Files) error {
	mode := b.Mode
	if mode == 0 {
		mode = 0o777
	}
	if err := os.MkdirAll(path, 0o777); err != nil {
		return err
	}
	if b.Memory {
		opts := fmt.Sprintf("mode=%o", mode)
		if b.SizeBytes > 0 {
			opts += fmt.Sprintf(",size=%d", b.SizeBytes)
		}
		if err := unix.Mount("tmpfs", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return err
		}
	}
	if b.GID != 0 {
		if err := os.Lchown(path, -1, b.GID); err != nil {
			return err
		}
	}
	// Chmod after chown, which may clear setgid.
	return unix.Chmod(path, mode)
}

// applyTree makes dir hold exactly entries, as Kubernetes' atomic writer
// lays a volume out (data in a timestamped directory, symlinks to it):
// new directories and files first, then every symlink replaced by
// rename, then what is no longer there removed. A reader thus sees the
// old or the new content, never a mix. The directory itself stays (it is
// bind-mounted into containers).
func applyTree(dir string, entries []vmproto.FileEntry) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, e := range entries {
		keep[strings.SplitN(e.Path, "/", 2)[0]] = true
		p := filepath.Join(dir, e.Path)
		switch {
		case e.Dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			_ = os.Lchown(p, e.UID, e.GID)
			// Chmod after chown, which may clear setgid.
			if err := unix.Chmod(p, e.Mode); err != nil {
				return err
			}
			continue
		case e.Link == "":
			if err := writeIfChanged(p, e); err != nil {
				return err
			}
		default:
			continue
		}
		_ = os.Lchown(p, e.UID, e.GID)
	}
	for _, e := range entries {
		if e.Link == "" {
			continue
		}
		p := filepath.Join(dir, e.Path)
		if cur, err := os.Readlink(p); err == nil && cur == e.Link {
			continue
		}
		tmp := p + ".fargo-tmp"
		_ = os.Remove(tmp)
		if err := os.Symlink(e.Link, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	old, _ := os.ReadDir(dir)
	for _, o := range old {
		if !keep[o.Name()] {
			_ = os.RemoveAll(filepath.Join(dir, o.Name()))
		}
	}
	return nil
}

func writeIfChanged(p string, e vmproto.FileEntry) error {
	if b, err := os.ReadFile(p); err == nil && string(b) == string(e.Data) {
		return os.Chmod(p, os.FileMode(e.Mode))
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".fargo-tmp"
	if err := os.WriteFile(tmp, e.Data, os.FileMode(e.Mode)); err != nil {
		return err
	}
	_ = os.Chmod(tmp, os.FileMode(e.Mode))
	return os.Rename(tmp, p)
}

// volumePath is where volume name lives in the guest.
func (s *server) volumePath(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.volumes[name]
	if !ok {
		return "", fmt.Errorf("volume %s was not sent to the guest", name)
	}
	return p, nil
}
