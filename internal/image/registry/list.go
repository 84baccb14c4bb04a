package registry

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Entry is one tagged image of the local registry.
type Entry struct {
	Name       string // repository:tag as stored, like docker.io/library/nginx:latest
	Repository string // the stored repository, like docker.io/library/nginx
	Tag        string
	Digest     string // manifest (or index) digest
	Size       int64  // bytes of the manifest and every blob it reaches that the registry holds
}

// List returns every tagged image under root, sorted by name.
func List(root string) ([]Entry, error) {
	s := store{root: root}
	repos, err := s.repositories()
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, repo := range repos {
		tags, err := s.tags(repo)
		if err != nil {
			return nil, err
		}
		for _, tag := range tags {
			m, err := s.getManifest(repo, tag)
			if err != nil {
				continue
			}
			entries = append(entries, Entry{Name: repo + ":" + tag, Repository: repo, Tag: tag, Digest: m.digest.String(), Size: s.size(m.digest, map[v1.Hash]bool{})})
		}
	}
	return entries, nil
}

// size adds up a manifest and what it references, each blob once.
func (s store) size(d v1.Hash, seen map[v1.Hash]bool) int64 {
	if seen[d] {
		return 0
	}
	seen[d] = true
	total, err := s.statBlob(d)
	if err != nil {
		return 0
	}
	m := s.references(d)
	if m.Config != nil {
		total += s.blobSize(m.Config.Digest, seen)
	}
	for _, l := range m.Layers {
		total += s.blobSize(l.Digest, seen)
	}
	for _, c := range m.Manifests {
		total += s.size(c.Digest, seen)
	}
	return total
}

func (s store) blobSize(d v1.Hash, seen map[v1.Hash]bool) int64 {
	if seen[d] {
		return 0
	}
	seen[d] = true
	n, _ := s.statBlob(d)
	return n
}
