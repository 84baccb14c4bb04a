package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func (s store) putImage(repo, tag string, img v1.Image) error {
	d, err := s.writeImage(repo, img)
	if err != nil || tag == "" {
		return err
	}
	return s.writeSmall(s.tagPath(repo, tag), d.String())
}

func (s store) putIndex(repo, tag string, idx v1.ImageIndex) error {
	d, err := s.writeIndex(repo, idx)
	if err != nil || tag == "" {
		return err
	}
	return s.writeSmall(s.tagPath(repo, tag), d.String())
}

// scratch unpacks OCI layouts next to the blobs, on the same disk,
// rather than in a /tmp that may be a small tmpfs.
func (s store) scratch() (string, error) {
	return s.tmpDir(), os.MkdirAll(s.tmpDir(), 0o755)
}

// writeImage stores an image's layers, config and manifest in repo (no tag)
// and returns the manifest digest.
func (s store) writeImage(repo string, img v1.Image) (v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		if err := s.writeLayer(l); err != nil {
			return v1.Hash{}, err
		}
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return v1.Hash{}, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	if _, _, err := s.putBlob(bytes.NewReader(cfg), cfgName); err != nil {
		return v1.Hash{}, fmt.Errorf("config %s: %w", cfgName, err)
	}
	return s.writeManifest(repo, img)
}

func (s store) writeLayer(l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	if _, err := s.statBlob(d); err == nil {
		return nil
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	defer rc.Close()
	if _, _, err := s.putBlob(rc, d); err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	return nil
}

// manifestSource is what images and indexes share for storing a manifest.
type manifestSource interface {
	RawManifest() ([]byte, error)
	MediaType() (types.MediaType, error)
}

func (s store) writeManifest(repo string, m manifestSource) (v1.Hash, error) {
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	mt, err := m.MediaType()
	if err != nil {
		return v1.Hash{}, err
	}
	return s.putManifest(repo, "", string(mt), raw)
}

// writeIndex stores an index and every child it has content for; exports
// made for one platform hold only that platform's image, and the others
// are skipped.
func (s store) writeIndex(repo string, idx v1.ImageIndex) (v1.Hash, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, desc := range im.Manifests {
		err := s.writeChild(repo, idx, desc)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return s.writeManifest(repo, idx)
}

func (s store) writeChild(repo string, idx v1.ImageIndex, desc v1.Descriptor) error {
	switch {
	case desc.MediaType.IsIndex():
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return err
		}
		_, err = s.writeIndex(repo, child)
		return err
	case desc.MediaType.IsImage():
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		if _, err := img.RawManifest(); err != nil {
			return err
		}
		_, err = s.writeImage(repo, img)
		return err
	}
	return nil
}
