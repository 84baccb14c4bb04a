// Package registry is fargo's local image registry: an OCI distribution (v2)
// server whose state is plain files under one root directory, and the import
// of `docker save` and OCI-layout tarballs into that same directory.
//
// Layout under root:
//
//	blobs/sha256/<hex>                              every blob and manifest, shared by all repositories
//	repositories/<repo>/_manifests/sha256/<hex>     the manifest belongs to <repo>; holds its media type
//	repositories/<repo>/_tags/<tag>                 holds the manifest digest the tag points at
//	uploads/<id>                                    blob uploads in progress
//
// Every file is written to a temporary name and renamed into place, and a tag
// is written only after everything it reaches, so a reader (the server, or a
// second server on the same root) never sees half an image. The server reads
// the disk on every request: an import works whether or not it runs.
//
// Names. A pod's `image: nginx:latest` means docker.io/library/nginx:latest.
// The local registry keeps an image under the repository [Repository] names
// for it: the registry host followed by the path ("docker.io/library/nginx",
// "quay.io/org/app"), with a port's ':' written as '_' ("reg.example_5000/app")
// because ':' may not appear in a repository name. Loopback registries
// (127.0.0.0/8, ::1, localhost) are taken to be this registry itself, so
// "127.0.0.1:5000/foo/bar:tag" is kept as "foo/bar" — exactly where
// `crane push 127.0.0.1:5000/foo/bar:tag` puts it. When a client asks for a
// repository that does not exist and whose first component is not a host
// ("library/nginx", "nginx"), the server also looks under "docker.io/" (and
// "docker.io/library/"), so Docker Hub images imported from a tarball are
// found under their familiar names too.
package registry

import (
	"net"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how fargo writes Docker Hub's registry in image names, as
// kubelet and containerd do; go-containerregistry says index.docker.io.
const dockerHub = "docker.io"

// repositoryPattern is the distribution spec's repository name grammar;
// checking it also keeps request paths inside the store.
var repositoryPattern = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Host is the registry host of ref as users write it: "docker.io" for Docker
// Hub, otherwise the host[:port] in the reference.
func Host(ref name.Reference) string {
	host := ref.Context().RegistryStr()
	if host == name.DefaultRegistry || host == "registry-1.docker.io" {
		return dockerHub
	}
	return host
}

// Name is ref written in full, the way kubelet reports image names:
// "docker.io/library/nginx:latest" or "quay.io/app@sha256:...".
func Name(ref name.Reference) string {
	return Host(ref) + "/" + ref.Context().RepositoryStr() + separator(ref) + ref.Identifier()
}

// RepositoryName is the repository of ref written in full, without tag or
// digest: "docker.io/library/nginx".
func RepositoryName(ref name.Reference) string {
	return Host(ref) + "/" + ref.Context().RepositoryStr()
}

func separator(ref name.Reference) string {
	if _, ok := ref.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// Repository is the repository under which the local registry keeps the
// images of ref (see the package documentation).
func Repository(ref name.Reference) string {
	host := Host(ref)
	if IsLoopback(host) {
		return ref.Context().RepositoryStr()
	}
	return strings.ReplaceAll(host, ":", "_") + "/" + ref.Context().RepositoryStr()
}

// IsLoopback reports whether a registry host[:port] is on this machine, where
// fargo talks plain HTTP.
func IsLoopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.Trim(host, "[]")
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// candidates are the stored repositories a request for repo may mean, most
// specific first: the name itself, then the Docker Hub names when the first
// component is not a host.
func candidates(repo string) []string {
	first, _, nested := strings.Cut(repo, "/")
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return []string{repo}
	}
	if !nested {
		return []string{repo, dockerHub + "/library/" + repo, dockerHub + "/" + repo}
	}
	return []string{repo, dockerHub + "/" + repo}
}
