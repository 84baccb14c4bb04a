package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// GCPolicy says when the collector removes a layer that no pod uses.
type GCPolicy struct {
	// MaxSize is how many bytes of layers the host keeps; past it, unused
	// layers go, least recently used first. 0 means no size limit.
	MaxSize int64
	// MaxUnused is how long a layer may stay unused however small the
	// cache is. 0 means no age limit.
	MaxUnused time.Duration
	// MinAge keeps a layer handed out more recently than this whatever
	// the limits: a pull's layers wait a moment for their container.
	MinAge time.Duration
}

// layerInfo is what the collector knows of one layer.
type layerInfo struct {
	diffID   v1.Hash
	size     int64
	lastUsed time.Time
	inUse    bool
}

// victims are the layers policy removes, least recently used first: the
// unused ones past MaxUnused, then more until the rest fit in MaxSize.
func (p GCPolicy) victims(layers []layerInfo, now time.Time) []layerInfo {
	var total int64
	var candidates []layerInfo
	for _, l := range layers {
		total += l.size
		if !l.inUse && now.Sub(l.lastUsed) >= p.MinAge {
			candidates = append(candidates, l)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].lastUsed.Before(candidates[j].lastUsed) })
	var out []layerInfo
	for _, c := range candidates {
		tooOld := p.MaxUnused > 0 && now.Sub(c.lastUsed) > p.MaxUnused
		tooBig := p.MaxSize > 0 && total > p.MaxSize
		if !tooOld && !tooBig {
			break
		}
		out = append(out, c)
		total -= c.size
	}
	return out
}

// Collect removes the layers policy lets go. A layer stays while an image
// in inUse (the image references of this host's pods, as they write them)
// needs it, while a mounted overlay (a running container's root) has it as
// a lower directory, and while it was handed out less than MinAge ago.
// It saves and returns the cache's numbers.
func (s *Store) Collect(policy GCPolicy, inUse []string) (CacheStats, error) {
	s.collecting.Lock()
	defer s.collecting.Unlock()
	now := time.Now()
	mounted, err := mountedLayers()
	if err != nil {
		// Without the mounts nothing is known to be unused.
		return CacheStats{}, fmt.Errorf("image cache collection skipped: %w", err)
	}
	layers, err := s.layerInfos(mounted, s.neededBy(inUse), now)
	if err != nil {
		return CacheStats{}, err
	}
	var freed []layerInfo
	var errs []error
	for _, v := range policy.victims(layers, now) {
		removed, err := s.removeLayer(v)
		if err != nil {
			errs = append(errs, err)
		}
		if removed {
			freed = append(freed, v)
		}
	}
	if len(freed) > 0 {
		errs = append(errs, s.dropRecords())
	}
	stats := s.recordCollection(policy, layers, freed, now)
	return stats, errors.Join(errs...)
}

// neededBy is the layers of the images refs last resolved to here.
func (s *Store) neededBy(refs []string) map[v1.Hash]bool {
	needed := map[v1.Hash]bool{}
	for _, ref := range refs {
		rec, err := s.record(ref)
		if err != nil {
			continue // not pulled yet: a pull in progress marks its own layers
		}
		for _, d := range rec.DiffIDs {
			needed[d] = true
		}
	}
	return needed
}

// layerInfos lists the layers on disk with their size and use, marking
// those in use as used now.
func (s *Store) layerInfos(mounted map[string]bool, needed map[v1.Hash]bool, now time.Time) ([]layerInfo, error) {
	diffIDs, err := s.layerDiffIDs()
	if err != nil {
		return nil, err
	}
	infos := make([]layerInfo, 0, len(diffIDs))
	for _, d := range diffIDs {
		size, err := s.layerSize(d)
		if err != nil {
			return nil, err
		}
		infos = append(infos, layerInfo{diffID: d, size: size, inUse: needed[d] || mounted[d.Hex]})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range infos {
		l := &infos[i]
		if l.inUse {
			s.lastUsed[l.diffID] = now
		}
		l.lastUsed = s.lastUsedLocked(l.diffID)
	}
	return infos, nil
}

// lastUsedLocked is when d was last handed out, or, for a layer this
// store never handed out (an older fargo unpacked it), when it was
// unpacked.
func (s *Store) lastUsedLocked(d v1.Hash) time.Time {
	if t, ok := s.lastUsed[d]; ok {
		return t
	}
	if fi, err := os.Stat(s.layerPath(d)); err == nil {
		s.lastUsed[d] = fi.ModTime()
		return fi.ModTime()
	}
	return time.Time{}
}

// layerDiffIDs lists the complete layers on disk.
func (s *Store) layerDiffIDs() ([]v1.Hash, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "layers", "sha256"))
	if err != nil {
		return nil, err
	}
	out := make([]v1.Hash, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, v1.Hash{Algorithm: "sha256", Hex: e.Name()})
		}
	}
	return out, nil
}

// removeLayer moves a layer out of layers/ under mu, unless it was handed
// out since the collector looked, then deletes it at leisure.
func (s *Store) removeLayer(l layerInfo) (bool, error) {
	s.mu.Lock()
	if s.lastUsed[l.diffID].After(l.lastUsed) || s.inflight[l.diffID] != nil {
		s.mu.Unlock()
		return false, nil
	}
	doomed := filepath.Join(s.tmpDir(), "gc-"+l.diffID.Hex)
	err := os.Rename(s.layerPath(l.diffID), doomed)
	if err == nil {
		delete(s.lastUsed, l.diffID)
	}
	s.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("removing layer %s: %w", l.diffID, err)
	}
	if err := os.RemoveAll(doomed); err != nil {
		return true, fmt.Errorf("removing layer %s: %w", l.diffID, err)
	}
	return true, nil
}

// dropRecords forgets the images whose layers are gone, and the configs
// only they had, so the next use pulls them again.
func (s *Store) dropRecords() error {
	entries, err := os.ReadDir(filepath.Join(s.root, "refs"))
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, e := range entries {
		path := filepath.Join(s.root, "refs", e.Name())
		rec, err := readRecord(path)
		if err != nil || !s.hasLayers(rec) {
			os.Remove(path)
			continue
		}
		keep[rec.ID] = true
	}
	blobs, err := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if !keep["sha256:"+b.Name()] {
			os.Remove(filepath.Join(s.root, "blobs", "sha256", b.Name()))
		}
	}
	return nil
}

// hasLayers reports whether every layer of rec is on disk, without
// counting as a use.
func (s *Store) hasLayers(rec record) bool {
	for _, d := range rec.DiffIDs {
		if _, err := os.Stat(s.layerPath(d)); err != nil {
			return false
		}
	}
	return true
}
