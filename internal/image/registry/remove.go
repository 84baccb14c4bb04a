package registry

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Remove deletes the tagged image e from the registry files under root:
// the tag, the manifests only it reached, then every blob no manifest left
// in any repository references. Use it only when no registry serves root
// (a running one is asked with [Remote.Remove]), since a push that has
// uploaded its blobs but not yet its manifest would lose them.
func Remove(root string, e Entry) error {
	s := store{root: root}
	if err := s.removeTag(e.Repository, e.Tag); err != nil {
		return err
	}
	return s.collectBlobs()
}

// removeTag drops repo's tag and the manifests that only it reached; a
// manifest another tag reaches, or one pushed by digest alone, stays.
func (s store) removeTag(repo, tag string) error {
	if !tagPattern.MatchString(tag) {
		return errManifestUnknown
	}
	m, err := s.getManifest(repo, tag)
	if err != nil {
		return err
	}
	if err := os.Remove(s.tagPath(repo, tag)); err != nil {
		return err
	}
	return s.dropUnreached(repo, s.reach(m.digest, map[v1.Hash]bool{}))
}

// removeManifest drops a manifest of repo by digest, with every tag that
// points at it, as a DELETE by digest asks.
func (s store) removeManifest(repo string, d v1.Hash) error {
	if _, err := s.getManifest(repo, d.String()); err != nil {
		return err
	}
	tags, err := s.tags(repo)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if m, err := s.getManifest(repo, tag); err == nil && m.digest == d {
			if err := os.Remove(s.tagPath(repo, tag)); err != nil {
				return err
			}
		}
	}
	return s.dropUnreached(repo, s.reach(d, map[v1.Hash]bool{}))
}

// dropUnreached removes repo's links to the manifests in gone that no
// remaining tag of repo reaches, and the repository once it is empty.
func (s store) dropUnreached(repo string, gone map[v1.Hash]bool) error {
	tags, err := s.tags(repo)
	if err != nil {
		return err
	}
	kept := map[v1.Hash]bool{}
	for _, tag := range tags {
		if m, err := s.getManifest(repo, tag); err == nil {
			s.reach(m.digest, kept)
		}
	}
	for d := range gone {
		if !kept[d] {
			if err := os.Remove(s.manifestLink(repo, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return s.removeIfEmpty(repo)
}

// reach adds d and the manifests of an index d names, recursively.
func (s store) reach(d v1.Hash, seen map[v1.Hash]bool) map[v1.Hash]bool {
	if seen[d] {
		return seen
	}
	seen[d] = true
	for _, child := range s.references(d).Manifests {
		s.reach(child.Digest, seen)
	}
	return seen
}

// references is what a stored manifest points at; empty when d is not a
// manifest or is gone.
func (s store) references(d v1.Hash) manifestRefs {
	var m manifestRefs
	if raw, err := os.ReadFile(s.blobPath(d)); err == nil {
		json.Unmarshal(raw, &m)
	}
	return m
}

// manifestRefs are the fields of an image manifest or index that name
// other content.
type manifestRefs struct {
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Manifests []v1.Descriptor `json:"manifests"`
}

// removeIfEmpty removes a repository with no manifest left, then its
// parents up to repositories/ while they are empty, so _catalog forgets it.
func (s store) removeIfEmpty(repo string) error {
	links, err := os.ReadDir(filepath.Join(s.repoDir(repo), "_manifests", "sha256"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(links) > 0 {
		return nil
	}
	if err := os.RemoveAll(s.repoDir(repo)); err != nil {
		return err
	}
	base := filepath.Join(s.root, "repositories")
	for dir := filepath.Dir(s.repoDir(repo)); dir != base && strings.HasPrefix(dir, base); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty: another repository lives below
		}
	}
	return nil
}

// collectBlobs removes every blob that no manifest of any repository
// reaches: marks from each repository's manifest links, then sweeps.
func (s store) collectBlobs() error {
	repos, err := s.repositories()
	if err != nil {
		return err
	}
	marked := map[v1.Hash]bool{}
	for _, repo := range repos {
		links, err := os.ReadDir(filepath.Join(s.repoDir(repo), "_manifests", "sha256"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, l := range links {
			s.mark(v1.Hash{Algorithm: "sha256", Hex: l.Name()}, marked)
		}
	}
	blobs, err := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var errs []error
	for _, b := range blobs {
		if d := (v1.Hash{Algorithm: "sha256", Hex: b.Name()}); !marked[d] {
			if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mark adds a manifest and everything it references to marked.
func (s store) mark(d v1.Hash, marked map[v1.Hash]bool) {
	if marked[d] {
		return
	}
	marked[d] = true
	m := s.references(d)
	if m.Config != nil {
		marked[m.Config.Digest] = true
	}
	for _, l := range m.Layers {
		marked[l.Digest] = true
	}
	for _, c := range m.Manifests {
		s.mark(c.Digest, marked)
	}
}

// missingBlobs lists the config and layers an image manifest names that
// the store lacks (foreign layers excepted); a registry must not accept a
// manifest whose content it cannot serve.
func (s store) missingBlobs(raw []byte) []v1.Hash {
	var m manifestRefs
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	descs := m.Layers
	if m.Config != nil {
		descs = append(descs, *m.Config)
	}
	var missing []v1.Hash
	for _, d := range descs {
		if !d.MediaType.IsDistributable() {
			continue
		}
		if _, err := s.statBlob(d.Digest); err != nil {
			missing = append(missing, d.Digest)
		}
	}
	return missing
}
