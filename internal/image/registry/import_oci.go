package registry

import (
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func importOCI(dst sink, tarballPath string) ([]string, error) {
	base, err := dst.scratch()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := extract(tarballPath, dir); err != nil {
		return nil, fmt.Errorf("%s: %v", tarballPath, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid OCI layout: %v", tarballPath, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", tarballPath, err)
	}
	var imported []string
	for i, desc := range im.Manifests {
		refs := ociNames(desc)
		if len(refs) == 0 {
			return imported, errNoName(tarballPath, fmt.Sprintf("index.json entry %d (%s)", i+1, desc.Digest))
		}
		names, err := storeUnderNames(refs, func(repo, tag string) error {
			return putDescriptor(dst, repo, tag, idx, desc)
		})
		imported = append(imported, names...)
		if err != nil {
			return imported, fmt.Errorf("%s: %v", tarballPath, err)
		}
	}
	return imported, nil
}

// ociNames are the image names an index.json entry carries: containerd's
// full name, else org.opencontainers.image.ref.name when it is a full
// reference rather than the bare tag the OCI spec suggests (a bare tag
// names no repository, so it cannot name an image here).
func ociNames(desc v1.Descriptor) []string {
	if n := desc.Annotations[annotationContainerdName]; n != "" {
		return []string{n}
	}
	if n := desc.Annotations[annotationRefName]; strings.ContainsAny(n, "/:@") {
		return []string{n}
	}
	return nil
}

// putDescriptor stores the image or index desc points at in repo.
func putDescriptor(dst sink, repo, tag string, idx v1.ImageIndex, desc v1.Descriptor) error {
	if desc.MediaType.IsIndex() {
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return err
		}
		return dst.putIndex(repo, tag, child)
	}
	if !desc.MediaType.IsImage() {
		return fmt.Errorf("index.json entry %s has media type %s, which is not an image", desc.Digest, desc.MediaType)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		return err
	}
	return dst.putImage(repo, tag, img)
}
