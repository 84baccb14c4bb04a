package image

import (
	"archive/tar"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
	"github.com/fargo-dev/fargo/internal/image/registry"
)

// testRegistry is a real registry on 127.0.0.1 that counts blob downloads
// and may require basic auth.
type testRegistry struct {
	host string
	root string
	srv  *httptest.Server

	mu        sync.Mutex
	blobGets  map[string]int // by digest
	manifests int
	user      string // when set, every request needs user:pass
	pass      string
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{root: t.TempDir(), blobGets: map[string]int{}}
	handler := registry.New(r.root)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		r.count(req)
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *testRegistry) count(req *http.Request) {
	if req.Method != http.MethodGet {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 {
		r.blobGets[req.URL.Path[i+len("/blobs/"):]]++
	}
	if strings.Contains(req.URL.Path, "/manifests/") {
		r.manifests++
	}
}

func (r *testRegistry) manifestGets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manifests
}

func (r *testRegistry) gets(d v1.Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobGets[d.String()]
}

// push stores img as host/repo:tag, bypassing auth.
func (r *testRegistry) push(t *testing.T, img v1.Image, repoTag string) {
	t.Helper()
	direct := httptest.NewServer(registry.New(r.root))
	defer direct.Close()
	if err := imagetest.Push(context.Background(), img, strings.TrimPrefix(direct.URL, "http://")+"/"+repoTag); err != nil {
		t.Fatal(err)
	}
}

// overlayLayer has what overlayfs needs converted: a whiteout hiding
// bin/wget from busybox, an opaque /opt, and the kinds of entries a layer
// holds.
func overlayLayer(t *testing.T) v1.Layer {
	t.Helper()
	l, err := imagetest.Layer([]imagetest.Entry{
		{Name: "bin/.wh.wget", Mode: 0o644},
		{Name: "opt/", Type: tar.TypeDir, Mode: 0o750, UID: 1000, GID: 1000},
		{Name: "opt/.wh..wh..opq", Mode: 0o644},
		{Name: "opt/app", Mode: 0o4755, Content: []byte("#!/bin/sh\necho hi\n"), UID: 1000, GID: 2000,
			Xattrs: map[string]string{"user.fargo": "yes", "trusted.overlay.redirect": "/etc"}},
		{Name: "opt/app-link", Type: tar.TypeLink, Linkname: "opt/app"},
		{Name: "opt/current", Type: tar.TypeSymlink, Linkname: "/opt/app"},
		{Name: "dev/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// images builds v1 (busybox + overlay layer) and v2 (busybox + a small
// layer): two images sharing the busybox layer.
func images(t *testing.T) (v1.Image, v1.Image) {
	t.Helper()
	base, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	a, err := mutate.AppendLayers(base, overlayLayer(t))
	if err != nil {
		t.Fatal(err)
	}
	small, err := imagetest.Layer([]imagetest.Entry{{Name: "etc/motd", Mode: 0o644, Content: []byte("v2\n")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := mutate.AppendLayers(base, small)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func newPuller(t *testing.T, cfg PullerConfig) *Puller {
	t.Helper()
	if cfg.Store == nil {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = s
	}
	return NewPuller(cfg)
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
