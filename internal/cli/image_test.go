package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

func TestImageImportThenList(t *testing.T) {
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("nginx:latest")
	archive := filepath.Join(t.TempDir(), "nginx.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := newImageCommand(Streams{Out: &out, ErrOut: &errOut})
		cmd.SetArgs(append(args, "--data-dir", dataDir))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("fargo image %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	if got := run("import", archive); got != "docker.io/library/nginx:latest\n" {
		t.Fatalf("import printed %q", got)
	}
	lines := strings.Split(strings.TrimSpace(run("list")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "docker.io/library/nginx:latest") || !strings.Contains(lines[1], "sha256:") {
		t.Fatalf("list printed:\n%s", strings.Join(lines, "\n"))
	}
}
