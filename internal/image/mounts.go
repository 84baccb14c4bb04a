package image

import (
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// mountedLayers is the base names (diffID hex) of every directory an
// overlay mounted on this machine has as a lower layer: the kernel's own
// account of which layers running containers' roots use, whichever
// runtime mounted them and whether or not this agent started them.
// A layer of another store with the same digest counts too, which only
// keeps more.
func mountedLayers() (map[string]bool, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("overlay"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range mounts {
		for _, dir := range lowerDirs(m.VFSOptions) {
			out[filepath.Base(dir)] = true
		}
	}
	return out, nil
}

// lowerDirs reads the lower directories out of overlayfs's superblock
// options: "lowerdir=a:b" from mount(2), or one "lowerdir+=a" (and
// "datadir+=") per layer from the new mount API.
func lowerDirs(options string) []string {
	var dirs []string
	for _, opt := range strings.Split(options, ",") {
		key, value, ok := strings.Cut(opt, "=")
		if !ok {
			continue
		}
		switch key {
		case "lowerdir":
			for _, d := range strings.Split(value, ":") {
				if d != "" { // "::" separates data-only layers
					dirs = append(dirs, d)
				}
			}
		case "lowerdir+", "datadir+":
			dirs = append(dirs, value)
		}
	}
	return dirs
}
