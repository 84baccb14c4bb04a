package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// xattrPrefix marks extended attributes in PAX headers.
const xattrPrefix = "SCHILY.xattr."

func (u *unpacker) mkdir(parent int, rel, base string, hdr *tar.Header) error {
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := removeAt(parent, base); err != nil {
			return err
		}
	}
	if err := unix.Mkdirat(parent, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	u.dirs = append(u.dirs, dirMeta{path: rel, mode: uint32(hdr.Mode & 0o7777), times: tarTimes(hdr)})
	fd, err := openDirAt(parent, base)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := u.chown(fd, "", hdr); err != nil {
		return err
	}
	u.setXattrs(fd, hdr)
	return nil
}

func (u *unpacker) writeFile(parent int, base string, hdr *tar.Header, body io.Reader) error {
	if err := removeAt(parent, base); err != nil {
		return err
	}
	fd, err := unix.Openat(parent, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		return err
	}
	// chown before chmod: chown clears setuid and setgid bits.
	if err := u.chown(fd, "", hdr); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	u.setXattrs(fd, hdr)
	return unix.UtimesNanoAt(parent, base, tarTimes(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

func (u *unpacker) symlink(parent int, base string, hdr *tar.Header) error {
	if err := removeAt(parent, base); err != nil {
		return err
	}
	if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
		return err
	}
	if err := u.chown(parent, base, hdr); err != nil {
		return err
	}
	return unix.UtimesNanoAt(parent, base, tarTimes(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

// hardlink links to an entry earlier in the same layer; a link leaving the
// layer, or through a symlink, is refused.
func (u *unpacker) hardlink(parent int, base string, hdr *tar.Header) error {
	target, err := cleanPath(hdr.Linkname)
	if err != nil || target == "" {
		return fmt.Errorf("hard link to %q does not name a file in the layer", hdr.Linkname)
	}
	dir, name := "", target
	if i := strings.LastIndex(target, "/"); i >= 0 {
		dir, name = target[:i], target[i+1:]
	}
	tdir := u.root
	if dir != "" {
		if tdir, err = u.walk(dir, false); err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		defer unix.Close(tdir)
	}
	if err := removeAt(parent, base); err != nil {
		return err
	}
	return unix.Linkat(tdir, name, parent, base, 0)
}

// mknod creates device nodes and fifos; without root, device nodes cannot
// be made and are left out (a test or tool unpacking unprivileged).
func (u *unpacker) mknod(parent int, base string, hdr *tar.Header) error {
	if err := removeAt(parent, base); err != nil {
		return err
	}
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := unix.Mknodat(parent, base, mode, dev)
	if errors.Is(err, unix.EPERM) && !u.asRoot && hdr.Typeflag != tar.TypeFifo {
		return nil
	}
	if err != nil {
		return err
	}
	if err := u.chown(parent, base, hdr); err != nil {
		return err
	}
	return unix.UtimesNanoAt(parent, base, tarTimes(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

// whiteout turns an OCI whiteout into overlayfs's: a 0/0 character device
// named like the file it hides.
func (u *unpacker) whiteout(parent int, name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("malformed whiteout for %q", name)
	}
	if err := removeAt(parent, name); err != nil {
		return err
	}
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %s: overlayfs whiteouts are character devices, which need root (CAP_MKNOD): %w", name, err)
	}
	return nil
}

// setOpaque marks a directory as hiding everything below it in lower layers.
func setOpaque(dir int) error {
	if err := unix.Fsetxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("opaque directory: the trusted.overlay.opaque attribute needs root (CAP_SYS_ADMIN): %w", err)
	}
	return nil
}

// chown sets the entry's owner (only as root; others cannot give files
// away). path "" means fd itself.
func (u *unpacker) chown(fd int, path string, hdr *tar.Header) error {
	if !u.asRoot {
		return nil
	}
	if path == "" {
		return unix.Fchown(fd, hdr.Uid, hdr.Gid)
	}
	return unix.Fchownat(fd, path, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
}

// setXattrs copies the entry's extended attributes where the filesystem
// and our privileges allow. overlayfs's own attributes are never taken
// from an image: they would change how the layers merge.
func (u *unpacker) setXattrs(fd int, hdr *tar.Header) {
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok || strings.HasPrefix(attr, "trusted.overlay.") {
			continue
		}
		unix.Fsetxattr(fd, attr, []byte(v), 0)
	}
}

// removeAt deletes whatever is at name in dir, a whole tree if a directory,
// so a later tar entry replaces an earlier one.
func removeAt(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	fd, err := openDirAt(dir, name)
	if err != nil {
		return err
	}
	err = removeChildren(fd)
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}

func removeChildren(dir int) error {
	names, err := readNames(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAt(dir, n); err != nil {
			return err
		}
	}
	return nil
}

// readNames lists a directory through a duplicate of its descriptor.
func readNames(dir int) ([]string, error) {
	dup, err := unix.Dup(dir)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}
