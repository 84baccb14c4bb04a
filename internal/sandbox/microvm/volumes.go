package microvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// volumeRefresh is how often the host looks for changed configMap,
// secret, downwardAPI and projected volumes (token rotation) to send to
// the guest again; a kubelet's sync period is a minute.
const volumeRefresh = 2 * time.Second

// syncedVolume is a tree the guest has, and the hash of what was sent.
type syncedVolume struct {
	root string
	sum  string
}

// volumes sends each mount's source to the guest and returns the mounts
// as the guest names them. A host volume directory (internal/podvolume)
// is either a projection, kept in sync (it has the atomic writer's
// ..data), or an emptyDir, which lives on the guest's scratch disk (or
// tmpfs); a single file (a pinned subPath) is copied once.
func (p *pod) volumes(ctx context.Context, mounts []sandbox.Mount) ([]vmproto.Mount, error) {
	var out []vmproto.Mount
	for _, m := range mounts {
		gm, files, err := guestVolume(m)
		if err != nil {
			return nil, err
		}
		root := ""
		if files.Kind == vmproto.VolumeTree {
			root = volumeRoot(m.Source)
		}
		if err := p.sendVolume(ctx, files, root); err != nil {
			return nil, err
		}
		out = append(out, gm)
	}
	return out, nil
}

// guestVolume is how m reaches the guest: the mount and the Files
// request that makes its volume.
func guestVolume(m sandbox.Mount) (vmproto.Mount, vmproto.Files, error) {
	info, err := os.Stat(m.Source)
	if err != nil {
		return vmproto.Mount{}, vmproto.Files{}, fmt.Errorf("microvm: volume source: %w", err)
	}
	gm := vmproto.Mount{Destination: m.Destination, ReadOnly: m.ReadOnly}
	if !info.IsDir() {
		gm.Volume = volumeName(m.Source)
		data, err := os.ReadFile(m.Source)
		if err != nil {
			return gm, vmproto.Files{}, fmt.Errorf("microvm: volume source: %w", err)
		}
		return gm, vmproto.Files{Volume: gm.Volume, Kind: vmproto.VolumeFile,
			Entries: []vmproto.FileEntry{{Mode: uint32(info.Mode().Perm()), Data: data}}}, nil
	}
	root := volumeRoot(m.Source)
	gm.Volume = volumeName(root)
	gm.SubPath, _ = filepath.Rel(root, m.Source)
	if gm.SubPath == "." {
		gm.SubPath = ""
	}
	if _, err := os.Lstat(filepath.Join(root, "..data")); err != nil {
		return gm, emptyDir(gm.Volume, root), nil
	}
	entries, err := snapshot(root)
	return gm, vmproto.Files{Volume: gm.Volume, Entries: entries}, err
}

// volumeRoot is the pod volume directory holding source
// (<pods>/<uid>/volumes/<name>), or source itself.
func volumeRoot(source string) string {
	parts := strings.Split(source, string(filepath.Separator))
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "volumes" {
			return strings.Join(parts[:i+2], string(filepath.Separator))
		}
	}
	return source
}

// volumeName is a guest volume's name for a host path.
func volumeName(path string) string {
	sum := sha256.Sum256([]byte(path))
	return hex.EncodeToString(sum[:8])
}

// emptyDir is the Files request for the host's emptyDir at dir, which
// internal/podvolume made as a kubelet would: the guest's copy gets its
// mode (setgid with an fsGroup), group and, on a tmpfs, size.
func emptyDir(volume, dir string) vmproto.Files {
	f := vmproto.Files{Volume: volume, Kind: vmproto.VolumeEmpty}
	var st unix.Stat_t
	if unix.Stat(dir, &st) == nil {
		f.Mode = st.Mode & 0o7777
		f.GID = int(st.Gid)
	}
	var fs unix.Statfs_t
	if unix.Statfs(dir, &fs) == nil && fs.Type == unix.TMPFS_MAGIC {
		f.Memory = true
		f.SizeBytes = int64(fs.Blocks) * fs.Bsize
	}
	return f
}

// snapshot reads a projection's tree: directories, files and the atomic
// writer's symlinks, as they are.
func snapshot(root string) ([]vmproto.FileEntry, error) {
	var entries []vmproto.FileEntry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := vmproto.FileEntry{Path: rel, Mode: uint32(info.Mode().Perm())}
		// os's FileInfo carries a syscall.Stat_t (not x/sys's).
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = int(st.Uid), int(st.Gid)
			if d.IsDir() {
				e.Mode = st.Mode & 0o7777 // setgid with an fsGroup
			}
		}
		switch {
		case d.IsDir():
			e.Dir = true
		case d.Type()&fs.ModeSymlink != 0:
			e.Link, err = os.Readlink(path)
		default:
			e.Data, err = os.ReadFile(path)
		}
		entries = append(entries, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("microvm: read volume %s: %w", root, err)
	}
	return entries, nil
}

// sendVolume makes the volume in the guest unless it has this content;
// root, for a projection, is the host directory to watch.
func (p *pod) sendVolume(ctx context.Context, files vmproto.Files, root string) error {
	name, sum := files.Volume, filesSum(files)
	p.mu.Lock()
	have, ok := p.synced[name]
	p.mu.Unlock()
	if ok && (have.sum == sum || files.Kind != vmproto.VolumeTree) {
		return nil
	}
	if err := p.r.call(ctx, p.uid, vmproto.OpFiles, files, nil); err != nil {
		return err
	}
	p.mu.Lock()
	p.synced[name] = syncedVolume{root: root, sum: sum}
	p.mu.Unlock()
	return nil
}

func filesSum(f vmproto.Files) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %v\n", f.Kind, f.Memory)
	for _, e := range f.Entries {
		fmt.Fprintf(h, "%s %o %v %q %d %d %d\n", e.Path, e.Mode, e.Dir, e.Link, e.UID, e.GID, len(e.Data))
		h.Write(e.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// refreshVolumes sends changed projections to the guest until conn ends.
func (p *pod) refreshVolumes(conn *vmproto.Conn) {
	tick := time.NewTicker(volumeRefresh)
	defer tick.Stop()
	for {
		select {
		case <-conn.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		names := make(map[string]string, len(p.synced))
		for name, v := range p.synced {
			if v.root != "" {
				names[name] = v.root
			}
		}
		p.mu.Unlock()
		for name, root := range names {
			entries, err := snapshot(root)
			if err != nil {
				continue // the pod is going; its volumes with it
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = p.sendVolume(ctx, vmproto.Files{Volume: name, Entries: entries}, root)
			cancel()
		}
	}
}
