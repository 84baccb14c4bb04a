package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteouts as they appear in layer tarballs.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// whiteoutMeta starts aufs bookkeeping entries, which carry nothing
	// an overlayfs root needs.
	whiteoutMeta = ".wh..wh."
)

// unpacker writes one layer tarball into a directory in the form overlayfs
// reads as a lower layer. It works through directory file descriptors and
// opens every path component with O_NOFOLLOW, so no symlink in the layer,
// absolute or relative, can redirect a write outside the directory.
type unpacker struct {
	root   int // the layer directory
	asRoot bool

	parentPath string // the directory opened last, kept for the next entry
	parentFD   int

	dirs []dirMeta // directory modes and times, applied last
}

// dirMeta is a directory's metadata, set after its children are written
// (writing a child changes the mtime; a read-only mode would stop writes).
type dirMeta struct {
	path  string
	mode  uint32
	times []unix.Timespec
}

// unpack writes the tar stream r into dir, which must be empty, and flushes
// it to disk.
func unpack(r io.Reader, dir string) error {
	root, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	u := &unpacker{root: root, parentFD: -1, asRoot: os.Geteuid() == 0}
	defer u.closeParent()
	u.dirs = append(u.dirs, dirMeta{path: "", mode: 0o755})
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	if err := u.finishDirs(); err != nil {
		return err
	}
	return unix.Syncfs(root)
}

// cleanPath is a tar entry's path relative to the layer root ("" for the
// root itself); a path that climbs out with ".." is refused.
func cleanPath(name string) (string, error) {
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("path %q leaves the layer; refusing the layer", name)
		}
	}
	p := path.Clean("/" + name)[1:]
	return p, nil
}

func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	rel, err := cleanPath(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir {
			u.dirs[0] = dirMeta{path: "", mode: uint32(hdr.Mode & 0o7777), times: tarTimes(hdr)}
			return u.chown(u.root, "", hdr)
		}
		return nil
	}
	dir, base := path.Split(rel)
	parent, err := u.openParent(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return err
	}
	switch {
	case base == whiteoutOpaque:
		return setOpaque(parent)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil
	case strings.HasPrefix(base, whiteoutPrefix):
		return u.whiteout(parent, strings.TrimPrefix(base, whiteoutPrefix))
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.mkdir(parent, rel, base, hdr)
	case tar.TypeReg: // the reader reports old TypeRegA entries as TypeReg
		return u.writeFile(parent, base, hdr, body)
	case tar.TypeSymlink:
		return u.symlink(parent, base, hdr)
	case tar.TypeLink:
		return u.hardlink(parent, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.mknod(parent, base, hdr)
	}
	return nil // other types (sparse GNU extensions, ...) carry no file
}

// openParent opens the directory dir (relative to the root) for creating
// an entry in it, creating missing directories; the last one is cached.
// A directory the tar does not list gets 0755 root:root: image builders
// list every parent, and this layer cannot know the lower layers' modes.
func (u *unpacker) openParent(dir string) (int, error) {
	if dir == "" {
		return u.root, nil
	}
	if u.parentFD >= 0 && u.parentPath == dir {
		return u.parentFD, nil
	}
	u.closeParent()
	fd, err := u.walk(dir, true)
	if err != nil {
		return -1, err
	}
	u.parentPath, u.parentFD = dir, fd
	return fd, nil
}

func (u *unpacker) closeParent() {
	if u.parentFD >= 0 {
		unix.Close(u.parentFD)
		u.parentFD = -1
	}
}

// walk opens dir component by component without following symlinks and
// returns a new descriptor the caller closes.
func (u *unpacker) walk(dir string, create bool) (int, error) {
	fd, err := unix.Dup(u.root)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(dir, "/") {
		next, err := openDirAt(fd, c)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = openDirAt(fd, c)
			}
		}
		unix.Close(fd)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return -1, fmt.Errorf("%s is a symlink or file, not a directory; unpacking never writes through symlinks", dir)
		}
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", dir, err)
		}
		fd = next
	}
	return fd, nil
}

func openDirAt(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

// finishDirs sets directory modes and times now that nothing more is
// written into them. A directory a later entry replaced is skipped: the
// directory is opened with O_NOFOLLOW, so a symlink now in its place is
// never chmodded through.
func (u *unpacker) finishDirs() error {
	u.closeParent()
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.finishDir(u.dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) finishDir(d dirMeta) error {
	if d.path == "" {
		if err := unix.Fchmod(u.root, d.mode); err != nil {
			return fmt.Errorf("chmod the layer root: %w", err)
		}
		if d.times != nil {
			unix.UtimesNanoAt(u.root, ".", d.times, 0)
		}
		return nil
	}
	dir, base := path.Split(d.path)
	parent := u.root
	if dir != "" {
		var err error
		if parent, err = u.walk(strings.TrimSuffix(dir, "/"), false); err != nil {
			return nil // a parent was replaced by a later entry
		}
		defer unix.Close(parent)
	}
	fd, err := openDirAt(parent, base)
	if err != nil {
		return nil // replaced by a later entry, or removed
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, d.mode); err != nil {
		return fmt.Errorf("chmod %s: %w", d.path, err)
	}
	if d.times != nil {
		unix.UtimesNanoAt(parent, base, d.times, unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}

func tarTimes(hdr *tar.Header) []unix.Timespec {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	return []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return unix.NsecToTimespec(t.UnixNano())
}
