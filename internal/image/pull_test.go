package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/image/imagetest"
)

func TestPullFetchesEachLayerOncePerHost(t *testing.T) {
	reg := newTestRegistry(t)
	a, b := images(t)
	reg.push(t, a, "app:v1")
	reg.push(t, b, "app:v2")
	p := newPuller(t, PullerConfig{})
	ctx := context.Background()

	imgA, err := p.Pull(ctx, reg.host+"/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pull(ctx, reg.host+"/app:v2", nil); err != nil {
		t.Fatal(err)
	}
	manifestsBefore := reg.manifestGets()
	if _, err := p.Pull(ctx, reg.host+"/app:v1", nil); err != nil {
		t.Fatal(err)
	}
	if reg.manifestGets() == manifestsBefore {
		t.Error("a repeated pull did not ask the registry: imagePullPolicy Always must resolve every time")
	}
	seen := map[string]bool{}
	for _, d := range append(layerDigests(t, a), layerDigests(t, b)...) {
		if seen[d.String()] {
			continue
		}
		seen[d.String()] = true
		if n := reg.gets(d); n != 1 {
			t.Errorf("layer %s downloaded %d times, want once", d, n)
		}
	}
	if len(imgA.Layers) != 2 {
		t.Fatalf("v1 has %d layer dirs, want 2", len(imgA.Layers))
	}
	if got := imgA.Config.Cmd; len(got) != 1 || got[0] != "sh" {
		t.Errorf("Cmd = %v, want [sh]", got)
	}
	if imgA.ID != configDigest(t, a) {
		t.Errorf("ID = %s, want the config digest %s", imgA.ID, configDigest(t, a))
	}
	want := reg.host + "/app@" + imgA.Digest
	if imgA.RepoDigest() != want || imgA.Name != reg.host+"/app:v1" {
		t.Errorf("Name %s, RepoDigest %s; want %s:v1 and %s", imgA.Name, imgA.RepoDigest(), reg.host+"/app", want)
	}
}

func TestConcurrentPullsShareDownloads(t *testing.T) {
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:v1")
	p := newPuller(t, PullerConfig{})
	const pods = 30
	var wg sync.WaitGroup
	errs := make(chan error, pods)
	for range pods {
		wg.Go(func() {
			if _, err := p.Pull(context.Background(), reg.host+"/app:v1", nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, d := range layerDigests(t, a) {
		if n := reg.gets(d); n != 1 {
			t.Errorf("%d concurrent pulls downloaded layer %s %d times, want once", pods, d, n)
		}
	}
}

func TestGetWorksOfflineAfterPull(t *testing.T) {
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:v1")
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := NewPuller(PullerConfig{Store: s}).Pull(context.Background(), reg.host+"/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.srv.Close()
	restarted, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{pulled.Name, pulled.RepoDigest()} {
		t.Run(ref, func(t *testing.T) {
			got, err := restarted.Get(ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != pulled.ID || strings.Join(got.Layers, ",") != strings.Join(pulled.Layers, ",") {
				t.Fatalf("Get = %+v, want %+v", got, pulled)
			}
		})
	}
	t.Run("never pulled", func(t *testing.T) {
		if _, err := restarted.Get("nginx"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(nginx) = %v, want ErrNotFound", err)
		}
	})
}

func TestPullSourceOrder(t *testing.T) {
	a, b := images(t)
	upstream, mirror, local := newTestRegistry(t), newTestRegistry(t), newTestRegistry(t)
	upstream.push(t, a, "team/app:v1")
	mirror.push(t, b, "team/app:v1")
	local.push(t, b, "docker.io/library/busybox:latest")
	upstream.push(t, a, "other/app:v1")
	down := newTestRegistry(t)
	down.srv.Close()
	ctx := context.Background()
	tests := []struct {
		name   string
		cfg    PullerConfig
		ref    string
		wantID string
	}{
		{"mirror preferred", PullerConfig{Mirrors: map[string]string{upstream.host: "http://" + mirror.host}}, upstream.host + "/team/app:v1", configDigest(t, b)},
		{"mirror down falls back", PullerConfig{Mirrors: map[string]string{upstream.host: "http://" + down.host}}, upstream.host + "/team/app:v1", configDigest(t, a)},
		{"local registry holds Docker Hub name", PullerConfig{LocalRegistry: local.host}, "busybox", configDigest(t, b)},
		{"local registry lacks repository", PullerConfig{LocalRegistry: local.host}, upstream.host + "/other/app:v1", configDigest(t, a)},
		{"local registry down", PullerConfig{LocalRegistry: down.host}, upstream.host + "/other/app:v1", configDigest(t, a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := newPuller(t, tt.cfg).Pull(ctx, tt.ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			if img.ID != tt.wantID {
				t.Fatalf("pulled image %s, want %s", img.ID, tt.wantID)
			}
		})
	}
	t.Run("Docker Hub name is normalized", func(t *testing.T) {
		img, err := newPuller(t, PullerConfig{LocalRegistry: local.host}).Pull(ctx, "busybox", nil)
		if err != nil {
			t.Fatal(err)
		}
		if img.Name != "docker.io/library/busybox:latest" || !strings.HasPrefix(img.RepoDigest(), "docker.io/library/busybox@sha256:") {
			t.Fatalf("Name %s, RepoDigest %s", img.Name, img.RepoDigest())
		}
	})
}

func TestPullWithImagePullSecret(t *testing.T) {
	reg := newTestRegistry(t)
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	reg.push(t, img, "private/app:v1")
	reg.user, reg.pass = "ci", "s3cret"
	ref := reg.host + "/private/app:v1"
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	wrong := base64.StdEncoding.EncodeToString([]byte("ci:wrong"))
	tests := []struct {
		name    string
		secrets []*corev1.Secret
		wantErr string
	}{
		{"no secret", nil, "unauthorized"},
		{"wrong password", []*corev1.Secret{dockerConfigJSON(reg.host, wrong)}, "unauthorized"},
		{"secret for another registry", []*corev1.Secret{dockerConfigJSON("quay.io", auth)}, "unauthorized"},
		{"dockerconfigjson", []*corev1.Secret{dockerConfigJSON("http://"+reg.host, auth)}, ""},
		{"dockercfg", []*corev1.Secret{dockercfg(reg.host, auth)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPuller(t, PullerConfig{}).Pull(context.Background(), ref, Keychain(tt.secrets))
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

func dockerConfigJSON(host, auth string) *corev1.Secret {
	return &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
		corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, auth),
	}}
}

func dockercfg(host, auth string) *corev1.Secret {
	return &corev1.Secret{Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{
		corev1.DockerConfigKey: fmt.Appendf(nil, `{%q:{"auth":%q,"email":"ci@example.com"}}`, host, auth),
	}}
}

func TestPullErrorsReadAsEvents(t *testing.T) {
	reg := newTestRegistry(t)
	p := newPuller(t, PullerConfig{})
	tests := []struct{ ref, want string }{
		{reg.host + "/nope:latest", `failed to pull and unpack image "` + reg.host + `/nope:latest": failed to resolve reference "` + reg.host + `/nope:latest" at registry ` + reg.host + `: not found`},
		{"Bad//Name", `failed to pull and unpack image "Bad//Name": invalid reference format`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := p.Pull(context.Background(), tt.ref, authn.NewMultiKeychain())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}
