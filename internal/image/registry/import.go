package registry

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// OCI annotations that name an image in an OCI layout's index.json.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Import loads a docker-archive (`docker save`) or OCI-layout tarball,
// optionally gzip-compressed, into the registry files under root, under the
// names recorded in it, and returns those names in full
// ("docker.io/library/nginx:latest"). A running registry is given images
// with [Remote.Import] instead.
func Import(root, tarballPath string) ([]string, error) {
	return importInto(store{root: root}, tarballPath)
}

// sink is where an import puts images: the registry's files (store) or a
// running registry (Remote). A tag of "" stores the image by digest only.
type sink interface {
	putImage(repo, tag string, img v1.Image) error
	putIndex(repo, tag string, idx v1.ImageIndex) error
	// scratch is a directory for unpacking an OCI layout.
	scratch() (string, error)
}

func importInto(dst sink, tarballPath string) ([]string, error) {
	entries, err := tarEntries(tarballPath)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", tarballPath, err)
	}
	switch {
	case entries["manifest.json"]:
		return importDocker(dst, tarballPath)
	case entries["index.json"]:
		return importOCI(dst, tarballPath)
	}
	return nil, fmt.Errorf("%s is neither a docker save archive (no manifest.json) nor an OCI layout (no index.json)", tarballPath)
}

// errNoName tells the user how to give an image a name.
func errNoName(tarballPath, what string) error {
	return fmt.Errorf("%s: %s has no image name; tag the image before saving it (docker tag IMAGE NAME:TAG, then docker save NAME:TAG)", tarballPath, what)
}

// openTar opens the tarball, decompressing it when it is gzip.
func openTar(tarballPath string) (io.ReadCloser, error) {
	f, err := os.Open(tarballPath)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		return readCloser{Reader: zr, close: f.Close}, nil
	}
	return readCloser{Reader: br, close: f.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// tarEntries lists the cleaned names of the tarball's entries.
func tarEntries(tarballPath string) (map[string]bool, error) {
	rc, err := openTar(tarballPath)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	names := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names[path.Clean(strings.TrimPrefix(hdr.Name, "./"))] = true
	}
}

func importDocker(dst sink, tarballPath string) ([]string, error) {
	opener := func() (io.ReadCloser, error) { return openTar(tarballPath) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", tarballPath, err)
	}
	var imported []string
	for i, desc := range m {
		if len(desc.RepoTags) == 0 {
			return imported, errNoName(tarballPath, fmt.Sprintf("image %d (config %s)", i+1, desc.Config))
		}
		first, err := name.NewTag(desc.RepoTags[0])
		if err != nil {
			return imported, fmt.Errorf("%s: bad RepoTag %q: %v", tarballPath, desc.RepoTags[0], err)
		}
		img, err := tarball.Image(opener, &first)
		if err != nil {
			return imported, fmt.Errorf("%s: %v", tarballPath, err)
		}
		names, err := storeUnderNames(desc.RepoTags, func(repo, tag string) error {
			return dst.putImage(repo, tag, img)
		})
		imported = append(imported, names...)
		if err != nil {
			return imported, fmt.Errorf("%s: %v", tarballPath, err)
		}
	}
	return imported, nil
}

// storeUnderNames has put store the content once per name in refs, in
// the repository the name maps to and under its tag (none for a digest).
func storeUnderNames(refs []string, put func(repo, tag string) error) ([]string, error) {
	var names []string
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			return names, fmt.Errorf("bad image name %q: %v", r, err)
		}
		tag := ""
		if t, ok := ref.(name.Tag); ok {
			tag = t.TagStr()
		}
		if err := put(Repository(ref), tag); err != nil {
			return names, err
		}
		names = append(names, Name(ref))
	}
	return names, nil
}

// extract unpacks the regular files of an OCI layout tarball into dir.
func extract(tarballPath, dir string) error {
	rc, err := openTar(tarballPath)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("entry %q escapes the layout", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := extractFile(tr, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
}

func extractFile(r io.Reader, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
