package image

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CacheStats are the numbers of a host's layer cache, as
// `fargo image list --host-cache` shows them.
type CacheStats struct {
	Layers int   `json:"layers"`
	Bytes  int64 `json:"bytes"`
	// InUse and InUseBytes are the layers pods needed at the last
	// collection.
	InUse      int   `json:"inUse"`
	InUseBytes int64 `json:"inUseBytes"`
	// LastCollection is when the collector last ran; zero if never.
	LastCollection time.Time `json:"lastCollection"`
	// Freed and FreedBytes are what the last collection removed;
	// TotalFreed and TotalFreedBytes all it ever removed on this host.
	Freed           int   `json:"freed"`
	FreedBytes      int64 `json:"freedBytes"`
	TotalFreed      int   `json:"totalFreed"`
	TotalFreedBytes int64 `json:"totalFreedBytes"`
	// Policy is what the last collection applied.
	Policy GCPolicy `json:"policy"`
}

// gcState is gc.json: the numbers, and what the collector must remember
// across agent restarts (last uses, and sizes it need not walk again).
type gcState struct {
	CacheStats
	LastUsed map[string]time.Time `json:"lastUsed,omitempty"` // by diffID hex
	Sizes    map[string]int64     `json:"sizes,omitempty"`    // by diffID hex
}

func gcStatePath(root string) string { return filepath.Join(root, "gc.json") }

// readGCState reads gc.json; a missing or damaged one is a fresh start,
// since everything in it can be found again.
func readGCState(root string) gcState {
	var st gcState
	if b, err := os.ReadFile(gcStatePath(root)); err == nil {
		json.Unmarshal(b, &st)
	}
	if st.Sizes == nil {
		st.Sizes = map[string]int64{}
	}
	return st
}

// recordCollection updates and saves the numbers after a collection.
func (s *Store) recordCollection(policy GCPolicy, layers, freed []layerInfo, now time.Time) CacheStats {
	gone := map[v1.Hash]bool{}
	st := &s.gc.CacheStats
	st.Freed, st.FreedBytes = len(freed), 0
	for _, l := range freed {
		gone[l.diffID] = true
		st.FreedBytes += l.size
	}
	st.TotalFreed += st.Freed
	st.TotalFreedBytes += st.FreedBytes
	st.Layers, st.Bytes, st.InUse, st.InUseBytes = 0, 0, 0, 0
	sizes, lastUsed := map[string]int64{}, map[string]time.Time{}
	s.mu.Lock()
	for _, l := range layers {
		if gone[l.diffID] {
			continue
		}
		st.Layers++
		st.Bytes += l.size
		if l.inUse {
			st.InUse++
			st.InUseBytes += l.size
		}
		sizes[l.diffID.Hex] = l.size
		lastUsed[l.diffID.Hex] = s.lastUsed[l.diffID]
	}
	s.mu.Unlock()
	st.LastCollection, st.Policy = now, policy
	s.gc.Sizes, s.gc.LastUsed = sizes, lastUsed
	if b, err := json.MarshalIndent(s.gc, "", "  "); err == nil {
		s.writeAtomic(gcStatePath(s.root), b)
	}
	return *st
}

// layerSize is the disk space of a layer, walked once and remembered:
// a layer never changes.
func (s *Store) layerSize(d v1.Hash) (int64, error) {
	if n, ok := s.gc.Sizes[d.Hex]; ok {
		return n, nil
	}
	n, err := diskUsage(s.layerPath(d))
	if err != nil {
		return 0, fmt.Errorf("measuring layer %s: %w", d, err)
	}
	s.gc.Sizes[d.Hex] = n
	return n, nil
}

// diskUsage is what du says of dir: allocated blocks, hard links once.
func diskUsage(dir string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			total += fi.Size()
			return nil
		}
		if st.Nlink > 1 && !fi.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total, err
}

// CacheStatus reads the numbers of the layer cache under root without
// changing it: the layers and bytes as they are now, the rest as the last
// collection left them.
func CacheStatus(root string) (CacheStats, error) {
	dir := filepath.Join(root, "layers", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return CacheStats{}, fmt.Errorf("no host image cache at %s: %w", root, err)
	}
	st := readGCState(root)
	stats := st.CacheStats
	stats.Layers, stats.Bytes = 0, 0
	for _, e := range entries {
		n, ok := st.Sizes[e.Name()]
		if !ok {
			if n, err = diskUsage(filepath.Join(dir, e.Name())); err != nil {
				continue // removed while we looked
			}
		}
		stats.Layers++
		stats.Bytes += n
	}
	return stats, nil
}
