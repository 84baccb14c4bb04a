// Package image is a host's image cache and puller. Pulls resolve every
// reference against a registry (mirrors first, then fargo's local registry
// when it holds the repository, then the image's own registry) but fetch and
// unpack each layer once per host: layers are unpacked, ready to be overlayfs
// lower directories, into directories named by their uncompressed digest and
// shared by every image and pod.
//
// Layout under the store's root:
//
//	layers/sha256/<diffID hex>/   an unpacked layer; present only when complete
//	blobs/sha256/<hex>            manifests and image configs
//	refs/<escaped name>.json      what a reference resolved to at its last pull
//	tmp/                          unpacks in progress; emptied by Open
//	gc.json                       the collector's bookkeeping and numbers (gc.go)
//
// Layers no pod uses are removed by [Store.Collect] past a size or age
// limit; the store remembers when each layer was last handed out, so the
// least recently used go first.
package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fargo-dev/fargo/internal/image/registry"
)

// ErrNotFound is returned by Get for an image this host has not pulled.
var ErrNotFound = errors.New("image not found on this host")

// Config is what a container takes from its image's configuration.
type Config struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
}

// Image is a pulled image, its layers unpacked on this host.
type Image struct {
	Name   string   // normalized reference as pulled, e.g. "docker.io/library/nginx:latest"
	Digest string   // manifest (or index) digest "sha256:..."
	ID     string   // config digest "sha256:...", what kubelet shows as image ID
	Layers []string // unpacked layer directories, lowest layer first, for overlayfs lowerdir
	Config Config
}

// RepoDigest is the image's repository with its manifest digest, such as
// "docker.io/library/nginx@sha256:...": a container status's imageID.
func (i *Image) RepoDigest() string {
	ref, err := parseReference(i.Name)
	if err != nil {
		return i.Name
	}
	return registry.RepositoryName(ref) + "@" + i.Digest
}

// Store is the per-host image cache under one root directory. One process
// uses a root at a time; within it, a Store is safe for concurrent use.
type Store struct {
	root string

	mu       sync.Mutex
	inflight map[v1.Hash]*flight // layers being fetched, by diffID
	// lastUsed is when a pull or Get last handed each layer out; the
	// collector removes a layer only under mu, after checking this.
	lastUsed map[v1.Hash]time.Time
	// collecting serialises Collect, which alone uses gc.
	collecting sync.Mutex
	gc         gcState // the collector's numbers, saved in gc.json
}

// Open opens (creating) the store at root and drops any unpack a crash
// interrupted.
func Open(root string) (*Store, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Store{root: root, inflight: map[v1.Hash]*flight{}, lastUsed: map[v1.Hash]time.Time{}}
	if err := os.RemoveAll(s.tmpDir()); err != nil {
		return nil, fmt.Errorf("cannot clear %s: %v", s.tmpDir(), err)
	}
	for _, d := range []string{s.tmpDir(), filepath.Join(root, "layers", "sha256"), filepath.Join(root, "blobs", "sha256"), filepath.Join(root, "refs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create the image store at %s: %v", root, err)
		}
	}
	s.gc = readGCState(root)
	for hex, t := range s.gc.LastUsed {
		s.lastUsed[v1.Hash{Algorithm: "sha256", Hex: hex}] = t
	}
	return s, nil
}

func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }

func (s *Store) layerPath(diffID v1.Hash) string {
	return filepath.Join(s.root, "layers", diffID.Algorithm, diffID.Hex)
}

func (s *Store) blobPath(d v1.Hash) string {
	return filepath.Join(s.root, "blobs", d.Algorithm, d.Hex)
}

func (s *Store) refPath(name string) string {
	return filepath.Join(s.root, "refs", url.PathEscape(name)+".json")
}

// record is what a reference resolved to, kept so Get works offline.
type record struct {
	Name    string
	Digest  string
	ID      string
	DiffIDs []v1.Hash
	Config  Config
}

// Get returns the image ref last resolved to on this host, without the
// network; errors.Is(err, ErrNotFound) when it was never pulled here.
func (s *Store) Get(ref string) (*Image, error) {
	rec, err := s.record(ref)
	if err != nil {
		return nil, err
	}
	return s.image(rec)
}

// record is what ref last resolved to on this host.
func (s *Store) record(ref string) (record, error) {
	r, err := parseReference(ref)
	if err != nil {
		return record{}, err
	}
	rec, err := readRecord(s.refPath(registry.Name(r)))
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, fmt.Errorf("%w: %s", ErrNotFound, registry.Name(r))
	}
	return rec, err
}

func readRecord(path string) (record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return record{}, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, fmt.Errorf("image record %s is corrupt (pull the image again): %v", path, err)
	}
	return rec, nil
}

// image turns a record into an Image, checking its layers are still here
// and marking them used, so the collector leaves them to the container
// about to mount them.
func (s *Store) image(rec record) (*Image, error) {
	img := &Image{Name: rec.Name, Digest: rec.Digest, ID: rec.ID, Config: rec.Config}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, d := range rec.DiffIDs {
		dir := s.layerPath(d)
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w: layer %s of %s is gone from %s", ErrNotFound, d, rec.Name, dir)
		}
		s.lastUsed[d] = now
		img.Layers = append(img.Layers, dir)
	}
	return img, nil
}

// save records what names resolved to, atomically.
func (s *Store) save(rec record, names ...string) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.writeAtomic(s.refPath(n), b); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes a whole file under its final name only when complete.
func (s *Store) writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(s.tmpDir(), "file-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
