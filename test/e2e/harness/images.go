package harness

import (
	"archive/tar"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

// SeedImages are the names the seed manifests use; tests serve Debian's
// busybox under each of them, since no registry is reachable.
var SeedImages = []string{"busybox:latest", "nicolaka/netshoot:latest", "alexwhen/docker-2048:latest", "nginx:latest"}

var (
	seedTarOnce sync.Once
	seedTar     string
	seedTarErr  error
)

// SeedTarball is a `docker save`-style tarball of the busybox image under
// every seed name, built once per test binary; RemoveSeedTarball removes it.
func SeedTarball(t testing.TB) string {
	t.Helper()
	seedTarOnce.Do(func() {
		seedTar = filepath.Join(os.TempDir(), fmt.Sprintf("fargo-seed-images-%d.tar", os.Getpid()))
		seedTarErr = WriteImageTarball(seedTar, SeedImages...)
	})
	if seedTarErr != nil {
		t.Fatalf("building the seed images: %v", seedTarErr)
	}
	return seedTar
}

// RemoveSeedTarball removes what SeedTarball made; TestMain calls it.
func RemoveSeedTarball() {
	if seedTar != "" {
		os.Remove(seedTar)
	}
}

// WriteImageTarball writes the busybox image under names to path.
func WriteImageTarball(path string, names ...string) error {
	return WriteImageTarballWithData(path, 0, names...)
}

// WriteImageTarballWithData is WriteImageTarball with a layer of size
// random bytes on top, so that no host has the image's layers yet.
func WriteImageTarballWithData(path string, size int, names ...string) error {
	img, err := imagetest.Busybox()
	if err != nil {
		return err
	}
	if size > 0 {
		data := make([]byte, size)
		if _, err := rand.Read(data); err != nil {
			return err
		}
		layer, err := imagetest.Layer([]imagetest.Entry{{Name: "data/random", Mode: 0o644, Content: data}})
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
	}
	refs := map[name.Reference]v1.Image{}
	for _, s := range names {
		ref, err := name.ParseReference(s)
		if err != nil {
			return err
		}
		refs[ref] = img
	}
	return tarball.MultiRefWriteToFile(path, refs)
}

// ImportImages loads tarballs into srv's local registry with `fargo image
// import`, as an offline user would.
func (s *Server) ImportImages(t testing.TB, tarballs ...string) {
	t.Helper()
	args := append([]string{"image", "import", "--data-dir", s.DataDir}, tarballs...)
	if out, err := exec.Command(Binary(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("fargo image import: %v\n%s", err, out)
	}
}

// BuildGo builds the Go main package pkg (a directory, relative to the
// test's own) as a static binary in a temporary directory and returns its
// path.
func BuildGo(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", bin, "./"+filepath.Clean(pkg))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// WriteGoImageTarball builds the Go main packages pkgs (see BuildGo) and
// writes the busybox image with each at /usr/local/bin/NAME (NAME = its
// directory's base name) under ref to path.
func WriteGoImageTarball(t testing.TB, path, ref string, pkgs ...string) {
	t.Helper()
	entries := []imagetest.Entry{
		{Name: "usr/local/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/bin/", Type: tar.TypeDir, Mode: 0o755},
	}
	for _, pkg := range pkgs {
		data, err := os.ReadFile(BuildGo(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, imagetest.Entry{Name: "usr/local/bin/" + filepath.Base(pkg), Mode: 0o755, Content: data})
	}
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := imagetest.Layer(entries)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.MultiRefWriteToFile(path, map[name.Reference]v1.Image{r: img}); err != nil {
		t.Fatal(err)
	}
}
