package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: overlayfs whiteouts and trusted.* xattrs need root; run the tests as root (CI does)")
	}
}

func TestPulledLayersAreReadyForOverlayfs(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:v1")
	img, err := newPuller(t, PullerConfig{}).Pull(context.Background(), reg.host+"/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	base, top := img.Layers[0], img.Layers[1]
	stat := func(t *testing.T, p string) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	t.Run("busybox and its applets", func(t *testing.T) {
		if st := stat(t, filepath.Join(base, "bin/busybox")); st.Mode&0o7777 != 0o755 || st.Size < 1<<20 {
			t.Errorf("bin/busybox mode %o size %d", st.Mode&0o7777, st.Size)
		}
		if target, err := os.Readlink(filepath.Join(base, "bin/sh")); err != nil || target != "busybox" {
			t.Errorf("bin/sh -> %q, %v; want busybox", target, err)
		}
		if st := stat(t, filepath.Join(base, "tmp")); st.Mode&0o7777 != 0o1777 {
			t.Errorf("tmp mode %o, want 1777", st.Mode&0o7777)
		}
	})
	t.Run("whiteout is a 0/0 character device", func(t *testing.T) {
		st := stat(t, filepath.Join(top, "bin/wget"))
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("bin/wget mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
		}
		if _, err := os.Lstat(filepath.Join(top, "bin/.wh.wget")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the OCI whiteout file itself was kept: %v", err)
		}
	})
	t.Run("opaque directory", func(t *testing.T) {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(top, "opt"), "trusted.overlay.opaque", buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("opt trusted.overlay.opaque = %q, %v; want y", buf[:n], err)
		}
		if st := stat(t, filepath.Join(top, "opt")); st.Mode&0o7777 != 0o750 || st.Uid != 1000 {
			t.Errorf("opt mode %o uid %d, want 750 and 1000", st.Mode&0o7777, st.Uid)
		}
	})
	t.Run("file metadata", func(t *testing.T) {
		app := filepath.Join(top, "opt/app")
		st := stat(t, app)
		if st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 2000 {
			t.Errorf("opt/app mode %o owner %d:%d, want 4755 1000:2000", st.Mode&0o7777, st.Uid, st.Gid)
		}
		if mtime := time.Unix(st.Mtim.Unix()); !mtime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("opt/app mtime %v, want the tar's", mtime)
		}
		buf := make([]byte, 16)
		if n, err := unix.Lgetxattr(app, "user.fargo", buf); err != nil || string(buf[:n]) != "yes" {
			t.Errorf("user.fargo xattr = %q, %v", buf[:n], err)
		}
		if _, err := unix.Lgetxattr(app, "trusted.overlay.redirect", buf); err == nil {
			t.Error("an overlayfs xattr from the image was applied")
		}
		if link := stat(t, filepath.Join(top, "opt/app-link")); link.Ino != st.Ino {
			t.Error("opt/app-link is not a hard link to opt/app")
		}
		if target, _ := os.Readlink(filepath.Join(top, "opt/current")); target != "/opt/app" {
			t.Errorf("opt/current -> %q", target)
		}
		if st := stat(t, filepath.Join(top, "dev/null")); st.Mode&unix.S_IFMT != unix.S_IFCHR {
			t.Errorf("dev/null mode %o, want a char device", st.Mode)
		}
	})
}

// tarOf builds a tar stream from headers (regular files get body "x").
func tarOf(t *testing.T, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestUnpackRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name string
		hdrs []tar.Header
	}{
		{"dot-dot path", []tar.Header{{Name: "../../escaped", Typeflag: tar.TypeReg, Mode: 0o644}}},
		{"write through absolute symlink", []tar.Header{
			{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "evil/escaped", Typeflag: tar.TypeReg, Mode: 0o644},
		}},
		{"write through relative symlink", []tar.Header{
			{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../../" + outside},
			{Name: "evil/escaped", Typeflag: tar.TypeReg, Mode: 0o644},
		}},
		{"hard link out of the layer", []tar.Header{{Name: "escaped", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}},
		{"hard link through symlink", []tar.Header{
			{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
			{Name: "escaped", Typeflag: tar.TypeLink, Linkname: "evil/passwd"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unpack(bytes.NewReader(tarOf(t, tt.hdrs...)), t.TempDir())
			if err == nil {
				t.Fatal("unpack succeeded, want it refused")
			}
			if _, err := os.Lstat(filepath.Join(outside, "escaped")); err == nil {
				t.Fatal("unpack wrote outside the layer")
			}
		})
	}
}

func TestFailedUnpackLeavesNoLayer(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := tarOf(t, tar.Header{Name: "file", Typeflag: tar.TypeReg, Mode: 0o644})
	tests := []struct {
		name   string
		stream io.Reader
	}{
		{"stream cut short", io.MultiReader(bytes.NewReader(data[:600]), errReader{})},
		{"content not matching its digest", bytes.NewReader(data)},
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := func() (io.ReadCloser, error) { return io.NopCloser(tt.stream), nil }
			if _, err := s.ensureLayer(context.Background(), diffID, open); err == nil {
				t.Fatal("ensureLayer succeeded")
			}
			if _, err := os.Stat(s.layerPath(diffID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed unpack left %s: %v", s.layerPath(diffID), err)
			}
			if left, _ := os.ReadDir(s.tmpDir()); len(left) != 0 {
				t.Fatalf("a failed unpack left %d temporary entries", len(left))
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
