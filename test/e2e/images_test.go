package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// seedImages are the names the seed manifests use; the tests serve
// Debian's busybox under each of them, since no registry is reachable.
var seedImages = []string{"busybox:latest", "nicolaka/netshoot:latest", "alexwhen/docker-2048:latest", "nginx:latest"}

var (
	imageTarOnce sync.Once
	imageTar     string
	imageTarErr  error
)

// imageTarball is a `docker save`-style tarball of the busybox image under
// every seed name, built once per run.
func imageTarball(t *testing.T) string {
	t.Helper()
	imageTarOnce.Do(func() {
		var img v1.Image
		img, imageTarErr = imagetest.Busybox()
		if imageTarErr != nil {
			return
		}
		refs := map[name.Reference]v1.Image{}
		for _, s := range seedImages {
			ref, err := name.ParseReference(s)
			if err != nil {
				imageTarErr = err
				return
			}
			refs[ref] = img
		}
		// Shared by the run's tests, so not in one test's TempDir;
		// TestMain removes it.
		imageTar = filepath.Join(os.TempDir(), fmt.Sprintf("fargo-e2e-seed-images-%d.tar", os.Getpid()))
		imageTarErr = tarball.MultiRefWriteToFile(imageTar, refs)
	})
	if imageTarErr != nil {
		t.Fatalf("building the test images: %v", imageTarErr)
	}
	return imageTar
}

// importImages loads the seed images into srv's local registry with
// `fargo image import`, as an offline user would.
func importImages(t *testing.T, srv *harness.Server) {
	t.Helper()
	mustFargo(t, srv, "image", "import", "--data-dir", srv.DataDir, imageTarball(t))
}
