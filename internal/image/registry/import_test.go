package registry

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func dockerArchive(t *testing.T, img v1.Image, refs ...name.Reference) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	m := map[name.Reference]v1.Image{}
	for _, r := range refs {
		m[r] = img
	}
	if err := tarball.MultiRefWriteToFile(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// ociArchive writes img into an OCI layout with annotations and tars it.
func ociArchive(t *testing.T, img v1.Image, annotations map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "oci.tar")
	if err := tarDir(dir, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func tarDir(dir, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil || d.IsDir() {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func TestImport(t *testing.T) {
	img := busybox(t)
	id, _ := img.ConfigName()
	nginx, _ := name.NewTag("nginx:latest")
	app, _ := name.NewTag("quay.io/org/app:1.0")
	tests := []struct {
		name    string
		tarball func(t *testing.T) string
		want    []string
		pull    []string // repository:tag on the registry that must hold the image
	}{
		{"docker save", func(t *testing.T) string { return dockerArchive(t, img, nginx, app) },
			[]string{"docker.io/library/nginx:latest", "quay.io/org/app:1.0"},
			[]string{"library/nginx:latest", "nginx:latest", "quay.io/org/app:1.0"}},
		{"OCI layout, containerd name", func(t *testing.T) string {
			return ociArchive(t, img, map[string]string{annotationContainerdName: "docker.io/library/busybox:1.36", annotationRefName: "1.36"})
		}, []string{"docker.io/library/busybox:1.36"}, []string{"library/busybox:1.36"}},
		{"OCI layout, full ref.name", func(t *testing.T) string {
			return ociArchive(t, img, map[string]string{annotationRefName: "127.0.0.1:5000/team/tool:dev"})
		}, []string{"127.0.0.1:5000/team/tool:dev"}, []string{"team/tool:dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			got, err := Import(root, tt.tarball(t))
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got) // docker save's RepoTags order is its own
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("imported %v, want %v", got, tt.want)
			}
			host := serve(t, root)
			for _, ref := range tt.pull {
				r, _ := name.ParseReference(host+"/"+ref, name.Insecure)
				pulled, err := remoteImage(r)
				if err != nil {
					t.Fatalf("pull %s: %v", ref, err)
				}
				if gotID, _ := pulled.ConfigName(); gotID != id {
					t.Fatalf("pull %s: image ID %s, want %s", ref, gotID, id)
				}
			}
		})
	}
}

func TestImportWhileServing(t *testing.T) {
	root := t.TempDir()
	host := serve(t, root)
	nginx, _ := name.NewTag("nginx:latest")
	if _, err := Import(root, dockerArchive(t, busybox(t), nginx)); err != nil {
		t.Fatal(err)
	}
	digestOf(t, host+"/library/nginx:latest")
	entries, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "docker.io/library/nginx:latest" || entries[0].Size < 1<<20 {
		t.Fatalf("List = %+v, want docker.io/library/nginx:latest with the busybox binary's size", entries)
	}
}

func TestImportWithoutNameTellsToTag(t *testing.T) {
	img := busybox(t)
	d, _ := img.Digest()
	untagged, _ := name.NewDigest("example/untagged@" + d.String())
	tests := []struct {
		name    string
		tarball func(t *testing.T) string
	}{
		{"docker save", func(t *testing.T) string { return dockerArchive(t, img, untagged) }},
		{"OCI layout with a bare tag", func(t *testing.T) string {
			return ociArchive(t, img, map[string]string{annotationRefName: "latest"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(t.TempDir(), tt.tarball(t))
			if err == nil || !strings.Contains(err.Error(), "docker tag") {
				t.Fatalf("got %v, want an error telling the user to tag the image", err)
			}
		})
	}
	t.Run("not an image tarball", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.tar")
		tarDir(t.TempDir(), path)
		if _, err := Import(t.TempDir(), path); err == nil || !strings.Contains(err.Error(), "neither") {
			t.Fatalf("got %v", err)
		}
	})
}

func remoteImage(r name.Reference) (v1.Image, error) { return remote.Image(r) }
