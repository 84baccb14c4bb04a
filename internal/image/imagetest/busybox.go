// Package imagetest builds small real images for tests that need one
// without a network: a busybox image from the busybox-static package's
// /bin/busybox, and a push to a registry on this machine.
package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is where Debian's busybox-static package installs busybox.
const BusyboxPath = "/bin/busybox"

// Applets are the commands the busybox image links to busybox in /bin.
var Applets = []string{
	"sh", "ash", "cat", "echo", "env", "false", "grep", "head", "hostname", "id",
	"kill", "ls", "mkdir", "nc", "nslookup", "ping", "ps", "rm", "sed", "sleep",
	"tail", "test", "touch", "true", "uname", "wc", "wget", "httpd", "date", "df",
	"tar", "stty", "tty",
}

// Entry is one file of a generated layer.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar...
	Mode     int64
	Content  []byte
	Linkname string
	UID, GID int
	Xattrs   map[string]string
}

// Layer builds an uncompressed-tar layer from entries, in order.
func Layer(entries []Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname,
			Size: int64(len(e.Content)), Uid: e.UID, Gid: e.GID, ModTime: mtime, Format: tar.FormatPAX,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		for k, v := range e.Xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %v", e.Name, err)
		}
		if _, err := tw.Write(e.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// BusyboxLayer is the root filesystem of the busybox image: /bin/busybox,
// its applets as symlinks, and the directories and /etc files a pod expects.
func BusyboxLayer() (v1.Layer, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("the busybox image needs %s: install the busybox-static package (apt-get install busybox-static): %v", BusyboxPath, err)
	}
	entries := []Entry{
		{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Mode: 0o755, Content: bin},
	}
	for _, a := range Applets {
		entries = append(entries, Entry{Name: "bin/" + a, Type: tar.TypeSymlink, Mode: 0o777, Linkname: "busybox"})
	}
	for _, d := range []string{"dev", "etc", "proc", "sys", "root", "var", "usr", "usr/bin", "home"} {
		entries = append(entries, Entry{Name: d + "/", Type: tar.TypeDir, Mode: 0o755})
	}
	entries = append(entries,
		Entry{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		Entry{Name: "etc/passwd", Mode: 0o644, Content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")},
		Entry{Name: "etc/group", Mode: 0o644, Content: []byte("root:x:0:\nnobody:x:65534:\n")},
	)
	return Layer(entries)
}

// Busybox is a one-layer linux image of busybox for this machine's
// architecture, with no entrypoint and cmd ["sh"], like docker.io/library/busybox.
func Busybox() (v1.Image, error) {
	layer, err := BusyboxLayer()
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{Cmd: []string{"sh"}}, layer)
}

// Image is a linux image for this machine's architecture made of layers,
// lowest first, with config (entrypoint, cmd, user, ports); its Env is
// the usual PATH when config sets none.
func Image(config v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Config = config
	if len(cf.Config.Env) == 0 {
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	return mutate.ConfigFile(img, cf)
}
