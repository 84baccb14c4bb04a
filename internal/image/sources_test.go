package image

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

func TestParseMirrors(t *testing.T) {
	tests := []struct {
		flags   []string
		want    map[string]string
		wantErr string
	}{
		{[]string{"docker.io=http://127.0.0.1:5001", "quay.io=https://mirror.example/quay"},
			map[string]string{"docker.io": "http://127.0.0.1:5001", "quay.io": "https://mirror.example/quay"}, ""},
		{[]string{"index.docker.io=http://127.0.0.1:5001"}, map[string]string{"docker.io": "http://127.0.0.1:5001"}, ""},
		{[]string{"docker.io"}, nil, "want REGISTRY=URL"},
		{[]string{"docker.io=127.0.0.1:5001"}, nil, "http:// or https://"},
		{[]string{"=http://x"}, nil, "want REGISTRY=URL"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, ","), func(t *testing.T) {
			got, err := ParseMirrors(tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestMirrorKeepsRepositoryPath(t *testing.T) {
	p := NewPuller(PullerConfig{Mirrors: map[string]string{"docker.io": "https://mirror.example/hub"}, LocalRegistry: "127.0.0.1:5000"})
	ref, _ := parseReference("nginx:1.27")
	srcs, err := p.sources(ref, authn.NewMultiKeychain())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srcs {
		got = append(got, s.kind+" "+s.ref.Name())
	}
	want := []string{
		"mirror mirror.example/hub/library/nginx:1.27",
		"local registry 127.0.0.1:5000/docker.io/library/nginx:1.27",
		"registry index.docker.io/library/nginx:1.27",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sources\n%v\nwant\n%v", got, want)
	}
}

func TestKeychainMatching(t *testing.T) {
	secret := dockerConfigJSON("unused", "")
	secret.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{
		"https://index.docker.io/v1/": {"username":"hub","password":"p"},
		"*.example.com": {"username":"wild","password":"p"},
		"reg.example.com/team": {"username":"team","password":"p"},
		"reg.example.com": {"username":"host","password":"p"}
	}}`)
	kc := Keychain([]*corev1.Secret{secret, nil, {Type: corev1.SecretTypeOpaque}})
	tests := []struct{ repo, user string }{
		{"nginx", "hub"},
		{"docker.io/org/app", "hub"},
		{"reg.example.com/team/app", "team"},
		{"reg.example.com/other/app", "host"},
		{"other.example.com/app", "wild"},
		{"example.com/app", ""},
		{"quay.io/app", ""},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			ref, err := name.ParseReference(tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(ref.Context())
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tt.user {
				t.Fatalf("user %q, want %q", cfg.Username, tt.user)
			}
		})
	}
}
