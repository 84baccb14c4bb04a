package podvolume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The layout of a published volume, the one a kubelet's AtomicWriter makes
// and that tools (e.g. configmap-reload) expect:
//
//	dir/key            -> ..data/key       (one link per top-level name)
//	dir/..data         -> ..2026_01_02_15_04_05.123456789
//	dir/..2026_.../key  the files
//
// An update writes a new timestamped directory and renames a new ..data
// link over the old one; rename is atomic, so a reader sees the old set or
// the new set, never a mix.
const (
	dataLink    = "..data"
	newDataLink = "..data_tmp"
	tsLayout    = "..2006_01_02_15_04_05."
)

// file is one file of a volume's contents.
type file struct {
	data []byte
	mode os.FileMode
}

// publish makes dir hold exactly payload (path -> file). When fsGroup is
// set, files and directories belong to that group and are group-readable.
// It writes nothing when dir already holds payload.
func publish(dir string, payload map[string]file, fsGroup *int64, now time.Time) error {
	payload, err := cleanPayload(payload, fsGroup)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	current, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if current == "" || !holds(filepath.Join(dir, current), payload) {
		if current, err = writeVersion(dir, payload, fsGroup, now); err != nil {
			return err
		}
	}
	if err := linkVisible(dir, payload); err != nil {
		return err
	}
	return removeStale(dir, current, payload)
}

// cleanPayload checks the paths as a kubelet does and applies fsGroup's
// group read bit to the modes.
func cleanPayload(payload map[string]file, fsGroup *int64) (map[string]file, error) {
	out := make(map[string]file, len(payload))
	for p, f := range payload {
		if err := checkPath(p); err != nil {
			return nil, err
		}
		f.mode &= 0o777
		if fsGroup != nil {
			f.mode |= 0o440
		}
		out[filepath.Clean(p)] = f
	}
	return out, nil
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case filepath.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
	}
	return nil
}

// holds tells whether tsDir has exactly payload's files, contents and modes.
func holds(tsDir string, payload map[string]file) bool {
	seen := 0
	err := filepath.WalkDir(tsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tsDir, p)
		want, ok := payload[rel]
		info, ierr := d.Info()
		if !ok || ierr != nil || !info.Mode().IsRegular() || info.Mode().Perm() != want.mode {
			return errDiffers
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, want.data) {
			return errDiffers
		}
		seen++
		return nil
	})
	return err == nil && seen == len(payload)
}

var errDiffers = errors.New("contents differ")

// writeVersion writes payload into a new timestamped directory and points
// ..data at it. It returns the new directory's name.
func writeVersion(dir string, payload map[string]file, fsGroup *int64, now time.Time) (string, error) {
	tsDir, err := os.MkdirTemp(dir, now.UTC().Format(tsLayout))
	if err != nil {
		return "", err
	}
	if err := fillVersion(tsDir, payload, fsGroup); err != nil {
		os.RemoveAll(tsDir)
		return "", err
	}
	name := filepath.Base(tsDir)
	tmp := filepath.Join(dir, newDataLink)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.Symlink(name, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return "", err
	}
	return name, nil
}

func fillVersion(tsDir string, payload map[string]file, fsGroup *int64) error {
	if err := setDirOwner(tsDir, fsGroup); err != nil {
		return err
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := makeParents(tsDir, filepath.Dir(p), fsGroup); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return err
		}
		// Chmod after the write: WriteFile's mode is cut by the umask.
		if err := os.Chmod(full, f.mode); err != nil {
			return err
		}
		if fsGroup != nil {
			if err := os.Lchown(full, -1, int(*fsGroup)); err != nil {
				return err
			}
		}
	}
	return nil
}

// makeParents creates the directories of a nested path one by one, so each
// gets the group and mode, not only the last.
func makeParents(tsDir, rel string, fsGroup *int64) error {
	if rel == "." {
		return nil
	}
	p := tsDir
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		if err := setDirOwner(p, fsGroup); err != nil {
			return err
		}
	}
	return nil
}

func setDirOwner(p string, fsGroup *int64) error {
	mode := os.FileMode(0o755)
	if fsGroup != nil {
		if err := os.Lchown(p, -1, int(*fsGroup)); err != nil {
			return err
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(p, mode)
}

// linkVisible makes dir/<top> -> ..data/<top> for each top-level name.
func linkVisible(dir string, payload map[string]file) error {
	for top := range topLevel(payload) {
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataLink, top), link); err != nil {
			return err
		}
	}
	return nil
}

// removeStale drops links of names no longer in payload and every
// timestamped directory but current (left over from an earlier version or
// an interrupted write).
func removeStale(dir, current string, payload map[string]file) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	keep := topLevel(payload)
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataLink || name == current || name == pinsDir:
		case strings.HasPrefix(name, ".."):
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		case !keep[name] && e.Type()&fs.ModeSymlink != 0:
			errs = append(errs, os.Remove(filepath.Join(dir, name)))
		}
	}
	return errors.Join(errs...)
}

func topLevel(payload map[string]file) map[string]bool {
	tops := map[string]bool{}
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		tops[top] = true
	}
	return tops
}
