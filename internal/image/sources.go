package image

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fargo-dev/fargo/internal/image/registry"
)

// parseReference reads an image reference as Kubernetes does: "nginx" is
// docker.io/library/nginx:latest. Registries on this machine are spoken to
// over plain HTTP.
func parseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q: %v", s, err)
	}
	if registry.IsLoopback(ref.Context().RegistryStr()) {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// source is one place a pull may find an image.
type source struct {
	kind string // "mirror", "local registry" or "registry"
	ref  name.Reference
	auth authn.Keychain
}

func (s source) String() string {
	return s.kind + " " + registry.Host(s.ref)
}

// sources lists where to look for ref, in order: the mirrors of its
// registry, the local registry, then the registry itself.
func (p *Puller) sources(ref name.Reference, auth authn.Keychain) ([]source, error) {
	var out []source
	if base, ok := p.mirrors[registry.Host(ref)]; ok {
		m, err := mirrorRef(ref, base)
		if err != nil {
			return nil, err
		}
		out = append(out, source{kind: "mirror", ref: m, auth: auth})
	}
	if p.local != "" && registry.Host(ref) != p.local {
		repo, err := name.NewRepository(p.local+"/"+registry.Repository(ref), name.Insecure)
		if err != nil {
			return nil, err
		}
		out = append(out, source{kind: "local registry", ref: retarget(ref, repo), auth: authn.NewMultiKeychain()})
	}
	return append(out, source{kind: "registry", ref: ref, auth: auth}), nil
}

// mirrorRef is ref on a mirror whose base URL may carry a path prefix
// ("http://127.0.0.1:5001" or "https://mirror.example/dockerhub").
func mirrorRef(ref name.Reference, base *url.URL) (name.Reference, error) {
	var opts []name.Option
	if base.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	prefix := strings.Trim(base.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	repo, err := name.NewRepository(base.Host+"/"+prefix+ref.Context().RepositoryStr(), opts...)
	if err != nil {
		return nil, fmt.Errorf("mirror %s cannot serve %s: %v", base, ref, err)
	}
	return retarget(ref, repo), nil
}

// retarget is ref's tag or digest in another repository.
func retarget(ref name.Reference, repo name.Repository) name.Reference {
	if d, ok := ref.(name.Digest); ok {
		return repo.Digest(d.DigestStr())
	}
	return repo.Tag(ref.Identifier())
}

// ParseMirrors reads registry mirror flags of the form REGISTRY=URL, such as
// "docker.io=http://127.0.0.1:5001", into a map from registry host to URL.
func ParseMirrors(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		host, base, ok := strings.Cut(f, "=")
		host = strings.TrimSpace(host)
		if !ok || host == "" || strings.Contains(host, "/") {
			return nil, fmt.Errorf("registry mirror %q: want REGISTRY=URL, like docker.io=http://127.0.0.1:5001", f)
		}
		u, err := url.Parse(strings.TrimSpace(base))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("registry mirror %q: the mirror must be an http:// or https:// URL, like docker.io=http://127.0.0.1:5001", f)
		}
		out[canonicalHost(host)] = u.String()
	}
	return out, nil
}

// parsedMirrors turns ParseMirrors's map into URLs; bad entries were
// refused by ParseMirrors, and ones built by hand are skipped.
func parsedMirrors(m map[string]string) map[string]*url.URL {
	out := map[string]*url.URL{}
	for host, base := range m {
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			out[canonicalHost(host)] = u
		}
	}
	return out
}

// canonicalHost writes Docker Hub's several names as docker.io.
func canonicalHost(host string) string {
	switch strings.ToLower(host) {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return strings.ToLower(host)
}
