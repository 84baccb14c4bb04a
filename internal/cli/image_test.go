package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/image/imagetest"
	"github.com/fargo-dev/fargo/internal/image/registry"
	"github.com/fargo-dev/fargo/internal/pidlock"
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

// writeArchive saves a busybox image under refs as a docker save tarball.
func writeArchive(t *testing.T, refs ...string) string {
	t.Helper()
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	m := map[name.Reference]v1.Image{}
	for _, r := range refs {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		m[tag] = img
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.MultiRefWriteToFile(archive, m); err != nil {
		t.Fatal(err)
	}
	return archive
}

// runImage runs `fargo image ARGS` and returns its output and error.
func runImage(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd := newImageCommand(Streams{Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func names(t *testing.T, root string) []string {
	t.Helper()
	entries, err := registry.List(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	return out
}

func TestResolveDataDir(t *testing.T) {
	tests := []struct{ flag, env, want string }{
		{"/flag", "/env", "/flag"},
		{"", "/env", "/env"},
		{"", "", controlplane.Default().DataDir},
	}
	for _, tt := range tests {
		t.Setenv(dataDirEnv, tt.env)
		if got := resolveDataDir(tt.flag); got != tt.want {
			t.Errorf("flag %q, $%s %q: %s, want %s", tt.flag, dataDirEnv, tt.env, got, tt.want)
		}
	}
	t.Setenv(dataDirEnv, "/env")
	if got, want := defaultKubeconfig(), "/env/admin.kubeconfig"; got != want {
		t.Errorf("fargo kubectl's kubeconfig is %s, want %s", got, want)
	}
}

// TestImageVerbsHonourDataDirEnv: without --data-dir, import and list use
// $FARGO_DATA_DIR's registry, as fargo kubectl uses its cluster.
func TestImageVerbsHonourDataDirEnv(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv(dataDirEnv, dataDir)
	if _, errOut, err := runImage("import", writeArchive(t, "example.com/app:v1")); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if got := names(t, filepath.Join(dataDir, "registry")); !reflect.DeepEqual(got, []string{"example.com/app:v1"}) {
		t.Fatalf("%s/registry holds %v", dataDir, got)
	}
	out, _, err := runImage("list")
	if err != nil || !strings.Contains(out, "example.com/app:v1") {
		t.Fatalf("list: %v\n%s", err, out)
	}
}

// TestImageImportPushesThroughRunningRegistry holds the data dir's lock
// as a running fargo does and serves, at the address in the data dir, a
// registry on another directory: an import lands there, never in the data
// dir's files. Once the lock is free, the address file is stale and
// ignored.
func TestImageImportPushesThroughRunningRegistry(t *testing.T) {
	dataDir := t.TempDir()
	l := controlplane.Layout{Dir: dataDir}
	lock, err := pidlock.Acquire(l.Lock())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	served := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addrs := make(chan string, 1)
	go func() { done <- registry.Serve(ctx, served, "127.0.0.1:0", func(a string) { addrs <- a }) }()
	defer func() { cancel(); <-done }()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatal(err)
	}
	if err := os.WriteFile(l.RegistryAddressFile(), []byte(addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, errOut, err := runImage("import", "--data-dir", dataDir, writeArchive(t, "example.com/app:v1"))
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if got := names(t, served); !reflect.DeepEqual(got, []string{"example.com/app:v1"}) {
		t.Errorf("the running registry holds %v, want the import", got)
	}
	if got := names(t, l.Registry()); len(got) != 0 {
		t.Errorf("the import wrote %v into the data dir's files behind the running registry", got)
	}
	if !strings.Contains(errOut, addr) {
		t.Errorf("import did not say it went to the registry at %s: %q", addr, errOut)
	}
	out, _, err := runImage("list", "--data-dir", dataDir)
	if err != nil || !strings.Contains(out, "example.com/app:v1") {
		t.Errorf("list through the registry: %v\n%s", err, out)
	}

	lock.Release()
	if _, errOut, err := runImage("import", "--data-dir", dataDir, writeArchive(t, "example.com/other:v1")); err != nil {
		t.Fatalf("import with a stale address file: %v\n%s", err, errOut)
	}
	if got := names(t, l.Registry()); !reflect.DeepEqual(got, []string{"example.com/other:v1"}) {
		t.Errorf("with no fargo running the data dir's files hold %v, want the import", got)
	}
}

func pod(name, phase string, images ...string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Status: corev1.PodStatus{Phase: corev1.PodPhase(phase)}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprint("c", i), Image: img})
	}
	return p
}

func TestImageRm(t *testing.T) {
	dataDir := t.TempDir()
	root := filepath.Join(dataDir, "registry")
	if _, err := registry.Import(root, writeArchive(t, "nginx:latest", "example.com/app:v1")); err != nil {
		t.Fatal(err)
	}
	rm := func(pods []corev1.Pod, force bool, args ...string) (string, error) {
		var out bytes.Buffer
		f := &imageRmFlags{registryDirFlag: registryDirFlag{dataDir: dataDir}, force: force}
		if pods != nil {
			f.pods = func(context.Context) ([]corev1.Pod, error) { return pods, nil }
		}
		err := runImageRm(Streams{Out: &out, ErrOut: io.Discard}, f, args)
		return out.String(), err
	}
	t.Run("in use by a running pod", func(t *testing.T) {
		pods := []corev1.Pod{pod("web", "Running", "busybox", "nginx"), pod("done", "Succeeded", "nginx")}
		_, err := rm(pods, true, "docker.io/library/nginx:latest")
		if err == nil || !strings.Contains(err.Error(), "default/web") || strings.Contains(err.Error(), "default/done") {
			t.Fatalf("rm of an image a running pod uses: %v, want a refusal naming default/web only", err)
		}
		if got := names(t, root); len(got) != 2 {
			t.Fatalf("refused rm removed something: %v", got)
		}
	})
	t.Run("unknown image", func(t *testing.T) {
		_, err := rm([]corev1.Pod{}, false, "redis")
		if err == nil || !strings.Contains(err.Error(), "fargo image list") {
			t.Fatalf("rm of an unknown image: %v, want an error pointing at fargo image list", err)
		}
	})
	t.Run("cluster not reachable", func(t *testing.T) {
		_, err := rm(nil, false, "example.com/app:v1")
		if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "no fargo is running") {
			t.Fatalf("rm without a cluster: %v, want a refusal naming --force", err)
		}
		out, err := rm(nil, true, "example.com/app:v1")
		if err != nil || out != "removed example.com/app:v1\n" {
			t.Fatalf("rm --force: %v, %q", err, out)
		}
	})
	t.Run("only finished pods use it", func(t *testing.T) {
		out, err := rm([]corev1.Pod{pod("done", "Failed", "nginx:latest")}, false, "nginx")
		if err != nil || out != "removed docker.io/library/nginx:latest\n" {
			t.Fatalf("rm: %v, %q", err, out)
		}
		if got := names(t, root); len(got) != 0 {
			t.Fatalf("left after removing both: %v", got)
		}
	})
}

// TestImageListHostCache reads the layer cache of `fargo up`'s agent
// (<data-dir>/agent/images) and of a joined host (<data-dir>/images).
func TestImageListHostCache(t *testing.T) {
	for _, store := range []string{"agent/images", "images"} {
		t.Run(store, func(t *testing.T) {
			dataDir := t.TempDir()
			layer := filepath.Join(dataDir, store, "layers", "sha256", strings.Repeat("a", 64))
			if err := os.MkdirAll(layer, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(layer, "file"), make([]byte, 10000), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := runImage("list", "--host-cache", "--data-dir", dataDir)
			if err != nil || !strings.Contains(out, "Layers:") || !strings.Contains(out, " 1 (") || !strings.Contains(out, "none yet") {
				t.Fatalf("list --host-cache: %v\n%s%s", err, out, errOut)
			}
		})
	}
	_, _, err := runImage("list", "--host-cache", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("list --host-cache of a dir without a cache: %v, want an error naming --data-dir", err)
	}
}
