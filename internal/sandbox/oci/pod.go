package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/moby/sys/mountinfo"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// podRecord is what StartContainer needs to know of a pod (pod.json).
type podRecord struct {
	UID         string            `json:"uid"`
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Hostname    string            `json:"hostname"`
	NetnsPath   string            `json:"netnsPath"`
	MilliCPU    int64             `json:"milliCPU"`
	MemoryBytes int64             `json:"memoryBytes"`
	Cgroup      string            `json:"cgroup"`
	ShmDir      string            `json:"shmDir"`
	Files       map[string]string `json:"files"` // container path → host file
}

// shmSize is the size of a pod's /dev/shm, as Docker's and containerd's.
const shmSize = "65536k"

// CreatePod makes the pod's directory and files, its sized cgroup, its
// /dev/shm and its IPC and UTS namespaces. It adopts what exists: calling
// it again, also from a restarted agent, leaves a running pod as it is.
func (r *Runtime) CreatePod(ctx context.Context, cfg sandbox.PodConfig) error {
	if err := validName("pod UID", cfg.UID); err != nil {
		return err
	}
	lock := r.podLock(cfg.UID)
	lock.Lock()
	defer lock.Unlock()

	dir := r.podDir(cfg.UID)
	rec := podRecord{
		UID: cfg.UID, Namespace: cfg.Namespace, Name: cfg.Name,
		Hostname: cfg.Hostname, NetnsPath: cfg.NetnsPath,
		MilliCPU: cfg.MilliCPU, MemoryBytes: cfg.MemoryBytes,
		Cgroup: r.podCgroup(cfg.UID), ShmDir: filepath.Join(dir, "shm"),
	}
	if rec.Hostname == "" {
		rec.Hostname = cfg.Name
	}
	for _, d := range []string{filepath.Join(dir, "files"), filepath.Join(dir, "containers"), rec.ShmDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("oci: create pod dir: %w", err)
		}
	}
	files, err := writePodFiles(filepath.Join(dir, "files"), cfg.Files)
	if err != nil {
		return err
	}
	rec.Files = files
	if err := r.cgroups.createPod(rec.Cgroup, cfg.MilliCPU, cfg.MemoryBytes); err != nil {
		return fmt.Errorf("oci: pod %s: %w", cfg.UID, err)
	}
	if err := mountShm(rec.ShmDir); err != nil {
		return err
	}
	if _, legacy := r.readPause(cfg.UID); !legacy {
		if err := ensureNamespaces(r.namespaceDir(cfg.UID), rec.Hostname); err != nil {
			return fmt.Errorf("oci: pod %s: %w", cfg.UID, err)
		}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return shim.WriteFileAtomic(filepath.Join(dir, "pod.json"), data)
}

// writePodFiles writes each file under dir and returns where each went.
// Existing files are rewritten in place: containers bind-mount them, and
// a bind mount holds the inode, not the name.
func writePodFiles(dir string, files map[string][]byte) (map[string]string, error) {
	hostPaths := map[string]string{}
	for dest, content := range files {
		if !path.IsAbs(dest) || path.Clean(dest) != dest || dest == "/" {
			return nil, fmt.Errorf("oci: pod file %q: use a clean absolute container path like /etc/hosts", dest)
		}
		host := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(dest, "/"), "/", "_"))
		if err := os.WriteFile(host, content, 0o644); err != nil {
			return nil, fmt.Errorf("oci: write pod file %s: %w", dest, err)
		}
		hostPaths[dest] = host
	}
	return hostPaths, nil
}

// mountShm mounts the pod's /dev/shm tmpfs unless it is mounted.
func mountShm(dir string) error {
	if mounted, err := mountinfo.Mounted(dir); err != nil || mounted {
		return err
	}
	err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+shmSize)
	if err != nil {
		return fmt.Errorf("oci: mount pod /dev/shm at %s: %w", dir, err)
	}
	return nil
}

func (r *Runtime) readPod(uid string) (podRecord, error) {
	var rec podRecord
	data, err := os.ReadFile(filepath.Join(r.podDir(uid), "pod.json"))
	if errors.Is(err, os.ErrNotExist) {
		return rec, fmt.Errorf("oci: pod %s has no sandbox: call CreatePod first: %w (%w)", uid, sandbox.ErrNotFound, os.ErrNotExist)
	}
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(data, &rec)
}

// RemovePod kills the pod's containers (and the pause process of a pod an
// earlier agent made) and removes its cgroups, mounts (its namespaces'
// too) and directory. Removing a removed pod is a no-op.
func (r *Runtime) RemovePod(ctx context.Context, uid string) error {
	if err := validName("pod UID", uid); err != nil {
		return err
	}
	lock := r.podLock(uid)
	lock.Lock()
	defer lock.Unlock()
	dir := r.podDir(uid)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return errors.Join(r.stopPause(uid), r.cgroups.remove(r.podCgroup(uid)))
	}
	var errs []error
	ids, _ := r.containerIDs(uid)
	for _, id := range ids {
		errs = append(errs, r.removeContainer(ctx, uid, id))
	}
	errs = append(errs, r.stopPause(uid))
	errs = append(errs, r.cgroups.remove(r.podCgroup(uid)))
	errs = append(errs, UnmountUnder(dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("oci: remove pod %s: %w", uid, err)
	}
	// Nothing may be mounted below dir now, or RemoveAll would delete
	// through the mount.
	if left := MountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("oci: remove pod %s: still mounted: %s", uid, strings.Join(left, ", "))
	}
	if err := removeAllRetry(dir); err != nil {
		return fmt.Errorf("oci: remove pod %s: %w", uid, err)
	}
	return nil
}

func (r *Runtime) containerIDs(uid string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.podDir(uid), "containers"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
