package containerlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// The kubelet's defaults for containerLogMaxSize, containerLogMaxFiles
// and its container log monitor period.
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 5
	DefaultInterval = 10 * time.Second
)

// Containers is what the Rotator rotates: the host's running container attempts.
type Containers interface {
	RunningContainers(ctx context.Context) ([]Container, error)
	ReopenLog(ctx context.Context, podUID, id string) error
}

// Container is one running container attempt and the CRI log file its
// shim writes.
type Container struct{ PodUID, ID, LogPath string }

// RotatorConfig is the kubelet's containerLogMaxSize and
// containerLogMaxFiles, and how often logs are checked. Zero fields take
// the kubelet's defaults.
type RotatorConfig struct {
	// MaxSize is the size in bytes at which a log is rotated; negative
	// turns rotation off, as in the kubelet.
	MaxSize int64
	// MaxFiles is the most files kept per attempt, the current one
	// included; at least 2.
	MaxFiles int
	// Interval is how often RotateOnce runs under Run.
	Interval time.Duration
}

// Rotator rotates the logs of running container attempts like the
// kubelet's container log manager: a log over MaxSize is renamed to
// <path>.<timestamp> and its writer told to reopen the path; older rotated
// files are gzipped, and the oldest removed so that at most MaxFiles
// remain. Rotated files stay beside the log, so they go when the pod's log
// directory is removed.
type Rotator struct {
	containers Containers
	cfg        RotatorConfig
	// now stamps rotated files; tests replace it to rotate more than once
	// a second.
	now func() time.Time
}

// NewRotator returns a Rotator over c; cfg's zero fields take defaults.
func NewRotator(c Containers, cfg RotatorConfig) (*Rotator, error) {
	if c == nil {
		return nil, errors.New("containerlog: NewRotator needs the host's Containers")
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxFiles < 2 {
		return nil, fmt.Errorf("containerlog: MaxFiles %d keeps no rotated file: set it to 2 or more", cfg.MaxFiles)
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("containerlog: rotation interval %v is negative: set a positive interval or 0 for %v", cfg.Interval, DefaultInterval)
	}
	return &Rotator{containers: c, cfg: cfg, now: time.Now}, nil
}

// Run rotates at once and then every interval until ctx is done, logging
// (not returning) failures, as the kubelet does: one stuck container must
// not stop the others' rotation.
func (r *Rotator) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.RotateOnce(ctx); err != nil {
			logger.Error(err, "Failed to rotate container logs")
		}
	}, r.cfg.Interval)
}

// RotateOnce rotates every running attempt's log that has reached
// MaxSize. It goes on past one attempt's failure and returns all of them.
func (r *Rotator) RotateOnce(ctx context.Context) error {
	if r.cfg.MaxSize < 0 {
		return nil
	}
	running, err := r.containers.RunningContainers(ctx)
	if err != nil {
		return fmt.Errorf("containerlog: list running containers: %w", err)
	}
	var errs []error
	for _, c := range running {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.rotateIfFull(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("container %s of pod %s: %w", c.ID, c.PodUID, err))
		}
	}
	return errors.Join(errs...)
}

// rotateIfFull rotates c's log when it has reached MaxSize. A log that
// is missing (renamed by a rotation whose reopen never happened, as after
// an agent crash) is reopened first, as the kubelet does.
func (r *Rotator) rotateIfFull(ctx context.Context, c Container) error {
	info, err := os.Stat(c.LogPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := r.containers.ReopenLog(ctx, c.PodUID, c.ID); err != nil {
			return fmt.Errorf("log %s is missing and reopening it failed: %w", c.LogPath, err)
		}
		info, err = os.Stat(c.LogPath)
	}
	if err != nil {
		return err
	}
	if info.Size() < r.cfg.MaxSize {
		return nil
	}
	return r.rotate(ctx, c)
}

// rotate makes room for the file about to be rotated, compresses the
// rotated files the writer has left, then renames the log and has its
// writer reopen the path. The newest rotated file stays uncompressed until
// the next rotation: its writer may still be finishing a line in it.
func (r *Rotator) rotate(ctx context.Context, c Container) error {
	target := rotatedName(c.LogPath, r.now())
	if taken(target) {
		// Rotated twice within one second: the names would collide, and
		// the last rotated file may still be being written. The next
		// round, a second later or more, rotates.
		return nil
	}
	rotated, err := rotatedFiles(c.LogPath)
	if err != nil {
		return err
	}
	if rotated, err = pruneRotated(rotated, r.cfg.MaxFiles-2); err != nil {
		return err
	}
	for _, f := range rotated {
		if !isCompressed(f) {
			if err := compress(f); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(c.LogPath, target); err != nil {
		return fmt.Errorf("rotate %s: %w", c.LogPath, err)
	}
	if err := r.containers.ReopenLog(ctx, c.PodUID, c.ID); err != nil {
		// Put the log back so the next round tries again and the writer,
		// still writing to this file, stays at the log's path.
		if backErr := os.Rename(target, c.LogPath); backErr != nil {
			return errors.Join(fmt.Errorf("reopen log after rotating it: %w", err),
				fmt.Errorf("rename %s back (its lines are in that file): %w", target, backErr))
		}
		return fmt.Errorf("reopen log after rotating it (rotation undone): %w", err)
	}
	return nil
}
