package podrunner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// PodLogs are the pods' log directories under Dir (Dir/pods/NS_POD_UID,
// with links in Dir/containers) and, in Index, one empty file per pod
// whose logs this host made, until they are removed. A pod that finished
// keeps its logs but no sandbox or volumes: the index is how a later
// agent (Collect) or `fargo down` still finds them.
type PodLogs struct {
	Dir   string
	Index string
}

// Track records that pod uid has logs here.
func (l PodLogs) Track(uid string) error {
	if l.Index == "" || uid == "" {
		return nil
	}
	if err := os.MkdirAll(l.Index, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Index, uid), nil, 0o600)
}

// Tracked are the pods whose logs the index records.
func (l PodLogs) Tracked() []string {
	if l.Index == "" {
		return nil
	}
	entries, _ := os.ReadDir(l.Index)
	uids := make([]string, 0, len(entries))
	for _, e := range entries {
		uids = append(uids, e.Name())
	}
	return uids
}

// Remove removes pod uid's log directory and the links into it, then its
// index entry.
func (l PodLogs) Remove(uid string) error {
	if l.Dir == "" || uid == "" || strings.ContainsAny(uid, "/\x00") {
		return nil
	}
	dirs, _ := filepath.Glob(filepath.Join(l.Dir, "pods", "*_"+uid))
	var errs []error
	if len(dirs) > 0 {
		links, _ := filepath.Glob(filepath.Join(l.Dir, "containers", "*.log"))
		for _, dir := range dirs {
			for _, link := range links {
				if target, err := os.Readlink(link); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
					_ = os.Remove(link)
				}
			}
			errs = append(errs, os.RemoveAll(dir))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if l.Index != "" {
		if err := os.Remove(filepath.Join(l.Index, uid)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
