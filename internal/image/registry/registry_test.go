package registry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

func busybox(t *testing.T) v1.Image {
	t.Helper()
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// serve starts a registry on root and returns its host:port.
func serve(t *testing.T, root string) string {
	t.Helper()
	srv := httptest.NewServer(New(root))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func digestOf(t *testing.T, ref string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return desc.Digest
}

func TestPushThenPullSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	img := busybox(t)
	want, _ := img.Digest()
	host := serve(t, root)
	if err := imagetest.Push(context.Background(), img, host+"/foo/bar:v1"); err != nil {
		t.Fatal(err)
	}
	// A pushed image is complete after a restart: pull every blob from a
	// new handler on the same root.
	host2 := serve(t, root)
	for _, ref := range []string{host2 + "/foo/bar:v1", host2 + "/foo/bar@" + want.String()} {
		t.Run(ref[len(host2):], func(t *testing.T) {
			r, _ := name.ParseReference(ref, name.Insecure)
			got, err := remote.Image(r)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d != want {
				t.Fatalf("digest %s, want %s", d, want)
			}
			layers, err := got.Layers()
			if err != nil {
				t.Fatal(err)
			}
			rc, err := layers[0].Compressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatalf("layer does not verify: %v", err)
			}
		})
	}
}

func TestListingEndpoints(t *testing.T) {
	root := t.TempDir()
	host := serve(t, root)
	img := busybox(t)
	for _, ref := range []string{"/foo/bar:v1", "/foo/bar:v2", "/baz:latest"} {
		if err := imagetest.Push(context.Background(), img, host+ref); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ path, want string }{
		{"/v2/foo/bar/tags/list", `{"name":"foo/bar","tags":["v1","v2"]}`},
		{"/v2/foo/bar/tags/list?n=1", `{"name":"foo/bar","tags":["v1"]}`},
		{"/v2/_catalog", `{"repositories":["baz","foo/bar"]}`},
		{"/v2/_catalog?last=baz", `{"repositories":["foo/bar"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := getBody(t, "http://"+host+tt.path, http.StatusOK); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func getBody(t *testing.T, url string, status int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, status, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: not JSON: %s", url, b)
	}
	compact, _ := json.Marshal(v)
	return string(compact)
}

func TestDockerHubNamesResolve(t *testing.T) {
	root := t.TempDir()
	host := serve(t, root)
	img := busybox(t)
	want, _ := img.Digest()
	if err := imagetest.Push(context.Background(), img, host+"/docker.io/library/nginx:latest"); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"docker.io/library/nginx", "library/nginx", "nginx"} {
		t.Run(repo, func(t *testing.T) {
			if got := digestOf(t, host+"/"+repo+":latest"); got != want {
				t.Fatalf("digest %s, want %s", got, want)
			}
		})
	}
	t.Run("unknown repository", func(t *testing.T) {
		body := getBody(t, "http://"+host+"/v2/library/redis/manifests/latest", http.StatusNotFound)
		if !strings.Contains(body, "NAME_UNKNOWN") {
			t.Fatalf("body %s does not say NAME_UNKNOWN", body)
		}
	})
	t.Run("path escape refused", func(t *testing.T) {
		getBody(t, "http://"+host+"/v2/../../etc/manifests/latest", http.StatusNotFound)
	})
}

func TestRepositoryMapping(t *testing.T) {
	tests := []struct{ ref, repo, name string }{
		{"nginx", "docker.io/library/nginx", "docker.io/library/nginx:latest"},
		{"docker.io/library/nginx:1.27", "docker.io/library/nginx", "docker.io/library/nginx:1.27"},
		{"index.docker.io/org/app:v1", "docker.io/org/app", "docker.io/org/app:v1"},
		{"quay.io/org/app:v1", "quay.io/org/app", "quay.io/org/app:v1"},
		{"reg.example:5000/app:v1", "reg.example_5000/app", "reg.example:5000/app:v1"},
		{"127.0.0.1:5000/foo/bar:tag", "foo/bar", "127.0.0.1:5000/foo/bar:tag"},
		{"localhost:5000/foo:tag", "foo", "localhost:5000/foo:tag"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			ref, err := name.ParseReference(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := Repository(ref); got != tt.repo {
				t.Errorf("Repository = %s, want %s", got, tt.repo)
			}
			if got := Name(ref); got != tt.name {
				t.Errorf("Name = %s, want %s", got, tt.name)
			}
		})
	}
}
