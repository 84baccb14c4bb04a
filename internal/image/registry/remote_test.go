package registry

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// partialIndexArchive is an OCI layout tarball of a two-platform index
// that holds the content of only its first image, as a one-platform
// export does.
func partialIndexArchive(t *testing.T, ref string) string {
	t.Helper()
	idx, err := random.Index(2048, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationContainerdName: ref})); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if err := os.Remove(filepath.Join(dir, "blobs", "sha256", im.Manifests[1].Digest.Hex)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.tar")
	if err := tarDir(dir, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRemoteAgreesWithFiles imports the same tarballs into one registry's
// files and, through its address, into another: the pushed one holds what
// the other does, List reads the same through either, and Remove through
// the address empties it.
func TestRemoteAgreesWithFiles(t *testing.T) {
	nginx, _ := name.NewTag("nginx:latest")
	app, _ := name.NewTag("quay.io/org/app:1.0")
	tarballs := []string{
		dockerArchive(t, busybox(t), nginx, app),
		partialIndexArchive(t, "docker.io/library/multi:1"),
	}
	files, pushed := t.TempDir(), t.TempDir()
	r := Remote{Addr: serve(t, pushed)}
	for _, tb := range tarballs {
		want, err := Import(files, tb)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Import(tb)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pushed names %v, imported names %v", got, want)
		}
	}
	want, err := List(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 {
		t.Fatalf("List(files) = %+v, want 3 images", want)
	}
	for name, list := range map[string]func() ([]Entry, error){
		"files of the pushed registry":   func() ([]Entry, error) { return List(pushed) },
		"through the registry's address": r.List,
	} {
		got, err := list()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s list\n%+v\nwant\n%+v", name, got, want)
		}
	}
	for _, e := range want {
		if err := r.Remove(e); err != nil {
			t.Fatalf("remove %s: %v", e.Name, err)
		}
	}
	if got, _ := r.List(); len(got) != 0 {
		t.Errorf("after removing everything the registry lists %+v", got)
	}
	if left := blobs(t, pushed); len(left) != 0 {
		t.Errorf("blobs left after removing everything: %v", left)
	}
}
