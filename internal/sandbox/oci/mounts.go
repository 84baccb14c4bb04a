package oci

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// mountOverlay mounts the container's root: an overlay of the image
// layers (given lowest first) with its own upper and work dirs, so the
// image's layer directories are never written, even for a single layer.
func mountOverlay(layers []string, upper, work, target string) error {
	if len(layers) == 0 {
		return errors.New("oci: container has no image layers: pass the image's unpacked layer directories")
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("oci: layer path %q has ':' or ',', which overlayfs options cannot carry: store layers under a plain path", l)
		}
		// overlayfs wants the highest layer first.
		lower[len(layers)-1-i] = l
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lower, ":"), upper, work)
	if len(opts)+len(",index=off") >= os.Getpagesize() {
		return fmt.Errorf("oci: overlay options for %d layers are %d bytes, over the kernel's page-size limit: use shorter layer paths", len(layers), len(opts))
	}
	// index=off: layers are shared by many overlays; the index would tie
	// a layer to the first upper dir used with it.
	err := unix.Mount("overlay", target, "overlay", 0, opts+",index=off")
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", target, "overlay", 0, opts)
	}
	if err != nil {
		return fmt.Errorf("oci: mount overlay root at %s: %w", target, err)
	}
	return nil
}

// MountsUnder lists the mount points at or below dir, deepest first. A
// path mounted twice appears twice and is unmounted twice.
func MountsUnder(dir string) []string {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil
	}
	found := make([]string, 0, len(infos))
	for _, info := range infos {
		found = append(found, info.Mountpoint)
	}
	// Deeper paths sort after their parents; unmount them first.
	sort.Sort(sort.Reverse(sort.StringSlice(found)))
	return found
}

// UnmountUnder unmounts everything at or below dir.
func UnmountUnder(dir string) error {
	var errs []error
	for _, mp := range MountsUnder(dir) {
		errs = append(errs, unmount(mp))
	}
	return errors.Join(errs...)
}

// unmount unmounts target; a busy mount is detached (it goes once the
// last user lets go), a missing one is fine.
func unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}
