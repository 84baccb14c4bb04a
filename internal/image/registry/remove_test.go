package registry

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// withExtraLayer is img with one random layer on top.
func withExtraLayer(t *testing.T, img v1.Image) (v1.Image, v1.Hash) {
	t.Helper()
	layer, err := random.Layer(4096, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	return out, d
}

// blobs lists the digests under root's blob store.
func blobs(t *testing.T, root string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out["sha256:"+e.Name()] = true
	}
	return out
}

func entry(t *testing.T, root, name string) Entry {
	t.Helper()
	entries, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no %s in %+v", name, entries)
	return Entry{}
}

func TestRemoveKeepsWhatOthersUse(t *testing.T) {
	root := t.TempDir()
	base := busybox(t)
	bigger, extra := withExtraLayer(t, base)
	a, _ := name.NewTag("example.com/a:1")
	b, _ := name.NewTag("example.com/b:1")
	if _, err := Import(root, dockerArchive(t, base, a)); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(root, dockerArchive(t, bigger, b)); err != nil {
		t.Fatal(err)
	}
	if !blobs(t, root)[extra.String()] {
		t.Fatalf("the extra layer %s was not imported", extra)
	}
	if err := Remove(root, entry(t, root, "example.com/b:1")); err != nil {
		t.Fatal(err)
	}
	if blobs(t, root)[extra.String()] {
		t.Errorf("the layer only b:1 used is still there")
	}
	// a:1 is still whole: every blob it reaches can be pulled.
	host := serve(t, root)
	r, _ := name.ParseReference(host+"/example.com/a:1", name.Insecure)
	pulled, err := remoteImage(r)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := pulled.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("a:1 lost a layer: %v", err)
		}
		rc.Close()
	}
	if err := Remove(root, entry(t, root, "example.com/a:1")); err != nil {
		t.Fatal(err)
	}
	if left := blobs(t, root); len(left) != 0 {
		t.Errorf("blobs left after removing every image: %v", left)
	}
	if repos, _ := (store{root: root}).repositories(); len(repos) != 0 {
		t.Errorf("repositories left: %v", repos)
	}
}

func TestRemoveTagKeepsOtherTagOfSameImage(t *testing.T) {
	root := t.TempDir()
	v1Tag, _ := name.NewTag("example.com/a:v1")
	v2Tag, _ := name.NewTag("example.com/a:v2")
	if _, err := Import(root, dockerArchive(t, busybox(t), v1Tag, v2Tag)); err != nil {
		t.Fatal(err)
	}
	before := blobs(t, root)
	if err := Remove(root, entry(t, root, "example.com/a:v1")); err != nil {
		t.Fatal(err)
	}
	if after := blobs(t, root); !reflect.DeepEqual(before, after) {
		t.Errorf("blobs changed though v2 is the same image: before %v, after %v", before, after)
	}
	entry(t, root, "example.com/a:v2")
}

func TestManifestNeedsItsBlobs(t *testing.T) {
	root := t.TempDir()
	host := serve(t, root)
	img, _ := withExtraLayer(t, busybox(t))
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/foo/manifests/v1", strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT of a manifest whose blobs are missing: status %d, want 400", resp.StatusCode)
	}
}

func TestFindNormalisesNames(t *testing.T) {
	digestA := "sha256:" + strings.Repeat("a", 64)
	entries := []Entry{
		{Name: "docker.io/library/nginx:latest", Repository: "docker.io/library/nginx", Tag: "latest", Digest: digestA},
		{Name: "docker.io/library/nginx:1.27", Repository: "docker.io/library/nginx", Tag: "1.27", Digest: digestA},
		{Name: "foo/bar:v1", Repository: "foo/bar", Tag: "v1", Digest: "sha256:" + strings.Repeat("b", 64)},
		{Name: "quay.io/org/app:v1", Repository: "quay.io/org/app", Tag: "v1", Digest: "sha256:" + strings.Repeat("c", 64)},
	}
	tests := []struct {
		ref  string
		find []string // what a pod's image finds
		look []string // what a user's name looks up
	}{
		{"nginx", []string{"docker.io/library/nginx:latest"}, []string{"docker.io/library/nginx:latest"}},
		{"docker.io/library/nginx:latest", []string{"docker.io/library/nginx:latest"}, []string{"docker.io/library/nginx:latest"}},
		{"library/nginx:1.27", []string{"docker.io/library/nginx:1.27"}, []string{"docker.io/library/nginx:1.27"}},
		{"nginx@" + digestA, []string{"docker.io/library/nginx:1.27", "docker.io/library/nginx:latest"}, []string{"docker.io/library/nginx:1.27", "docker.io/library/nginx:latest"}},
		{"nginx:1.28", nil, nil},
		{"127.0.0.1:5000/foo/bar:v1", []string{"foo/bar:v1"}, []string{"foo/bar:v1"}},
		// A pod's foo/bar is Docker Hub's; the user means the stored name.
		{"foo/bar:v1", nil, []string{"foo/bar:v1"}},
		{"quay.io/org/app:v1", []string{"quay.io/org/app:v1"}, []string{"quay.io/org/app:v1"}},
	}
	names := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		sort.Strings(out)
		return out
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			found, err := Find(entries, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(found); !reflect.DeepEqual(got, tt.find) {
				t.Errorf("Find = %v, want %v", got, tt.find)
			}
			looked, err := Lookup(entries, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(looked); !reflect.DeepEqual(got, tt.look) {
				t.Errorf("Lookup = %v, want %v", got, tt.look)
			}
		})
	}
}
