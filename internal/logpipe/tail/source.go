package tail

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The containerlog package's names for rotated logs: <log>.<timestamp>,
// gzipped later to <log>.<timestamp>.gz through <log>.<timestamp>.tmp.
const (
	rotatedStampFormat = "20060102-150405"
	compressedSuffix   = ".gz"
	tmpSuffix          = ".tmp"
)

// verifyWindow is how far before a saved offset a resume looks for the
// entry that ends there: more than one shim entry (16 KiB of text).
const verifyWindow = 32 << 10

// segment is one file being read: the live log, or a rotated (possibly
// gzipped) one.
type segment struct {
	f     *os.File
	src   io.Reader // f, or a gzip reader over it
	path  string
	base  string // <log>.<timestamp> of a rotated file opened by name
	inode uint64
	// read is the offset in the (uncompressed) content of the next byte
	// src returns.
	read int64
	// live says the file was at the log's path when last checked, so it
	// may still grow; a rotated file is read to its end and left.
	live bool
	// broken is set after a read error of a rotated file, which then ends.
	broken bool
}

// openSegment opens path, through gzip when it ends in .gz.
func openSegment(path string) (*segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &segment{f: f, src: f, path: path}
	if s.inode, _, err = fileID(f); err != nil {
		f.Close()
		return nil, err
	}
	if strings.HasSuffix(path, compressedSuffix) {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read rotated log %s: %w", path, err)
		}
		s.src = zr
	}
	return s, nil
}

func (s *segment) compressed() bool { return s.src != io.Reader(s.f) }

func (s *segment) close() {
	if s != nil {
		s.f.Close()
	}
}

// fileID is the inode and link count of an open file; a link count of 0
// means the file was deleted, not renamed.
func fileID(f *os.File) (inode, nlink uint64, err error) {
	info, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, errors.New("tail: file inodes are only available on Linux")
	}
	return st.Ino, st.Nlink, nil
}

func inodeOf(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// seekVerified moves s to off if the entry ending there has time t (any
// time when t is zero): that tells the file a Position was taken in from
// another that reused its inode. It reports false, leaving s unusable,
// when the check fails.
func (s *segment) seekVerified(off int64, t time.Time) (bool, error) {
	if off == 0 {
		return t.IsZero(), nil
	}
	start := max(off-verifyWindow, 0)
	window := make([]byte, off-start)
	if s.compressed() {
		if _, err := io.CopyN(io.Discard, s.src, start); err != nil {
			return false, ignoreEOF(err)
		}
		if _, err := io.ReadFull(s.src, window); err != nil {
			return false, ignoreEOF(err)
		}
	} else {
		if _, err := s.f.ReadAt(window, start); err != nil {
			return false, ignoreEOF(err)
		}
		if _, err := s.f.Seek(off, io.SeekStart); err != nil {
			return false, err
		}
	}
	s.read = off
	return endsWithEntryAt(window, start == 0, t), nil
}

// endsWithEntryAt says whether window ends with a whole entry whose time
// is t. atStart says the window starts the file. An entry longer than the
// window cannot be checked and is taken as matching.
func endsWithEntryAt(window []byte, atStart bool, t time.Time) bool {
	if len(window) == 0 || window[len(window)-1] != '\n' {
		return false
	}
	body := window[:len(window)-1]
	i := bytes.LastIndexByte(body, '\n')
	if i < 0 && !atStart {
		return true
	}
	e := parseEntry(body[i+1:])
	if t.IsZero() {
		return !e.ok
	}
	return e.ok && e.time.Equal(t)
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// rotatedFile is a rotated sibling of the log.
type rotatedFile struct {
	path  string // the uncompressed file, or the .gz when only that exists
	base  string // <log>.<timestamp>: sorts oldest first
	stamp time.Time
}

// listRotated lists target's rotated siblings oldest first.
func listRotated(target string) ([]rotatedFile, error) {
	dir, prefix := filepath.Dir(target), filepath.Base(target)+"."
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list rotated logs of %s: %w", target, err)
	}
	byBase := map[string]*rotatedFile{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		base := strings.TrimSuffix(name, compressedSuffix)
		stamp, err := time.Parse(rotatedStampFormat, base[len(prefix):])
		if err != nil {
			continue
		}
		f := byBase[base]
		if f == nil {
			f = &rotatedFile{base: base, stamp: stamp}
			byBase[base] = f
		}
		// Prefer the uncompressed file: it is the one a Position taken
		// while it was the live log names by inode.
		if base == name || f.path == "" {
			f.path = filepath.Join(dir, name)
		}
	}
	files := make([]rotatedFile, 0, len(byBase))
	for _, f := range byBase {
		files = append(files, *f)
	}
	slices.SortFunc(files, func(a, b rotatedFile) int { return strings.Compare(a.base, b.base) })
	return files, nil
}

// open opens the rotated file, or its compressed copy when compression
// removed the original meanwhile. os.ErrNotExist: it was pruned.
func (f rotatedFile) open() (*segment, error) {
	s, err := openSegment(f.path)
	if errors.Is(err, os.ErrNotExist) && !strings.HasSuffix(f.path, compressedSuffix) {
		s, err = openSegment(f.path + compressedSuffix)
	}
	return s, err
}

// inode is the inode now at f's path; 0 when it is gone.
func (f rotatedFile) inode() uint64 {
	info, err := os.Stat(f.path)
	if err != nil {
		return 0
	}
	return inodeOf(info)
}

// mayHoldAfter says whether the file may hold entries later than t. The
// stamp is the rotation's second in UTC (containerlog stamps UTC), and the
// file was complete by then.
func (f rotatedFile) mayHoldAfter(t time.Time) bool {
	return f.stamp.Add(time.Second).After(t)
}
