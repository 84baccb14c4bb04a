package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Remote is a running local registry, reached at its address over the
// distribution API, so that it sees every change itself rather than
// finding files written behind its back.
type Remote struct {
	Addr string // host:port, as the registry's Serve reported it
}

// registry is the name of r's host; a wildcard listen address is reached
// on loopback.
func (r Remote) registry() (name.Registry, error) {
	addr := r.Addr
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			loop := "127.0.0.1"
			if ip.To4() == nil {
				loop = "::1"
			}
			addr = net.JoinHostPort(loop, port)
		}
	}
	return name.NewRegistry(addr, name.Insecure)
}

func (r Remote) options() []remote.Option {
	return []remote.Option{remote.WithUserAgent("fargo")}
}

// ref is repo:tag, or repo@d when tag is "", at r.
func (r Remote) ref(repo, tag string, d v1.Hash) (name.Reference, error) {
	reg, err := r.registry()
	if err != nil {
		return nil, err
	}
	if tag != "" {
		return reg.Repo(repo).Tag(tag), nil
	}
	return reg.Repo(repo).Digest(d.String()), nil
}

// Import pushes the images of a docker save or OCI-layout tarball to r,
// under the names recorded in it, and returns those names (see [Import]).
func (r Remote) Import(tarballPath string) ([]string, error) {
	return importInto(r, tarballPath)
}

func (r Remote) putImage(repo, tag string, img v1.Image) error {
	d, err := img.Digest()
	if err != nil {
		return err
	}
	ref, err := r.ref(repo, tag, d)
	if err != nil {
		return err
	}
	return r.pushError(remote.Write(ref, img, r.options()...))
}

// putIndex pushes the children the index has content for (an export made
// for one platform holds only that platform's image), then the index.
func (r Remote) putIndex(repo, tag string, idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, desc := range im.Manifests {
		err := r.putChild(repo, idx, desc)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	ref, err := r.ref(repo, tag, d)
	if err != nil {
		return err
	}
	return r.pushError(remote.Put(ref, idx, r.options()...))
}

func (r Remote) putChild(repo string, idx v1.ImageIndex, desc v1.Descriptor) error {
	switch {
	case desc.MediaType.IsIndex():
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return err
		}
		return r.putIndex(repo, "", child)
	case desc.MediaType.IsImage():
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		if _, err := img.RawManifest(); err != nil {
			return err
		}
		return r.putImage(repo, "", img)
	}
	return nil
}

// scratch unpacks OCI layouts in the temporary directory: the registry's
// own directory may not be ours to write.
func (r Remote) scratch() (string, error) { return os.TempDir(), nil }

// List returns every tagged image r serves, sorted by name, with the same
// digests and sizes [List] reads from its files.
func (r Remote) List() ([]Entry, error) {
	reg, err := r.registry()
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(context.Background(), reg, r.options()...)
	if err != nil {
		return nil, r.pushError(err)
	}
	sort.Strings(repos)
	var entries []Entry
	for _, repo := range repos {
		tags, err := remote.List(reg.Repo(repo), r.options()...)
		if err != nil {
			return nil, r.pushError(err)
		}
		sort.Strings(tags)
		for _, tag := range tags {
			desc, err := remote.Get(reg.Repo(repo).Tag(tag), r.options()...)
			if isNotFound(err) {
				continue // removed since the tag list was read
			}
			if err != nil {
				return nil, r.pushError(err)
			}
			size := r.size(reg.Repo(repo), desc.Descriptor, desc.Manifest, map[v1.Hash]bool{})
			entries = append(entries, Entry{Name: repo + ":" + tag, Repository: repo, Tag: tag, Digest: desc.Digest.String(), Size: size})
		}
	}
	return entries, nil
}

// size adds up a manifest and what it references, each blob once, as the
// file-reading size does; an index's children the registry lacks count 0.
func (r Remote) size(repo name.Repository, desc v1.Descriptor, raw []byte, seen map[v1.Hash]bool) int64 {
	if seen[desc.Digest] {
		return 0
	}
	seen[desc.Digest] = true
	total := int64(len(raw))
	var m manifestRefs
	if json.Unmarshal(raw, &m) != nil {
		return total
	}
	descs := m.Layers
	if m.Config != nil {
		descs = append(descs, *m.Config)
	}
	for _, d := range descs {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			total += d.Size
		}
	}
	for _, c := range m.Manifests {
		child, err := remote.Get(repo.Digest(c.Digest.String()), r.options()...)
		if err == nil {
			total += r.size(repo, child.Descriptor, child.Manifest, seen)
		}
	}
	return total
}

// Remove deletes the tagged image e from r; r then drops the blobs no
// other image references.
func (r Remote) Remove(e Entry) error {
	ref, err := r.ref(e.Repository, e.Tag, v1.Hash{})
	if err != nil {
		return err
	}
	return r.pushError(remote.Delete(ref, r.options()...))
}

// pushError says which registry failed, and what to do when it is gone.
func (r Remote) pushError(err error) error {
	var te *transport.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return fmt.Errorf("the local registry at %s: %w", r.Addr, err)
	}
	return fmt.Errorf("cannot reach the local registry at %s (%v): is its fargo still running? Retry, or stop it and run this again to use its files", r.Addr, err)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
