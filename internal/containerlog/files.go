package containerlog

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The kubelet's names for rotated logs: <log>.<timestamp>, gzipped to
// <log>.<timestamp>.gz through a temporary <log>.<timestamp>.tmp. The
// fixed-width timestamp makes names sort oldest first.
const (
	timestampFormat = "20060102-150405"
	compressSuffix  = ".gz"
	tmpSuffix       = ".tmp"
)

// rotatedName is the name log gets when rotated at t. The kubelet stamps
// local time; UTC keeps names in order across a daylight-saving change.
func rotatedName(log string, t time.Time) string {
	return log + "." + t.UTC().Format(timestampFormat)
}

// taken says whether a rotation stamped name already happened, compressed
// since or not.
func taken(name string) bool {
	for _, n := range []string{name, name + compressSuffix} {
		if _, err := os.Lstat(n); err == nil {
			return true
		}
	}
	return false
}

func isCompressed(name string) bool { return strings.HasSuffix(name, compressSuffix) }

// rotatedFiles lists log's rotated files oldest first, after removing
// what an interrupted compression left: a temporary file, or a file whose
// compressed copy is complete.
func rotatedFiles(log string) ([]string, error) {
	dir, prefix := filepath.Dir(log), filepath.Base(log)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list rotated logs of %s: %w", log, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	var inUse []string
	for _, n := range names {
		unused := strings.HasSuffix(n, tmpSuffix) ||
			(!isCompressed(n) && slices.Contains(names, n+compressSuffix))
		if !unused {
			inUse = append(inUse, filepath.Join(dir, n))
			continue
		}
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove leftover of an interrupted log compression: %w", err)
		}
	}
	slices.Sort(inUse)
	return inUse, nil
}

// pruneRotated removes the oldest of rotated (sorted oldest first) until
// keep remain, and returns those. Oldest first, so a reader of a newer
// file is not cut off.
func pruneRotated(rotated []string, keep int) ([]string, error) {
	excess := max(len(rotated)-max(keep, 0), 0)
	for _, f := range rotated[:excess] {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove old rotated log: %w", err)
		}
	}
	return rotated[excess:], nil
}

// compress replaces name by name.gz. The copy is written under a
// temporary name and renamed when complete, so an interruption leaves
// either the whole original or the whole copy (rotatedFiles cleans up).
func compress(name string) error {
	in, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	tmp := name + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	defer os.Remove(tmp) // after a failure; gone by rename otherwise
	if err := gzipTo(out, in); err != nil {
		return fmt.Errorf("compress rotated log %s: %w", name, err)
	}
	if err := os.Rename(tmp, name+compressSuffix); err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove rotated log after compressing it: %w", err)
	}
	return nil
}

// gzipTo writes in gzipped to out and closes out.
func gzipTo(out *os.File, in io.Reader) error {
	zw := gzip.NewWriter(out)
	_, err := io.Copy(zw, in)
	return errors.Join(err, zw.Close(), out.Close())
}
