package tail

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Wait returns when more may be readable: the log grew, was rotated or
// replaced, or was deleted (then Read reports Gone), or when ctx ends
// (returning its error). It returns at once when the last Read stopped at
// ReadBytes, or the log is Gone.
func (r *Reader) Wait(ctx context.Context) error {
	if r.cur == nil {
		return errClosed
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.gone || r.pending() {
			return nil
		}
		if err := r.w.wait(ctx, r.opt.Poll); err != nil {
			return err
		}
	}
}

// pending says whether Read may find something new.
func (r *Reader) pending() bool {
	if r.more || len(r.queue) > 0 || r.parked != nil {
		return true
	}
	info, err := os.Stat(r.resolve())
	if err != nil {
		return r.deleted() // Read then reports Gone
	}
	if inodeOf(info) != r.cur.inode || !r.cur.live {
		return true
	}
	return info.Size() != r.cur.read
}

// watcher wakes Wait on changes in the log's directory: writes to the log
// or its rotated files, renames, creations and deletions. Without an
// inotify instance (the per-user limit, 128 by default, is reached) it
// only times out, and Wait polls.
type watcher struct {
	f   *os.File // the inotify instance, non-blocking so deadlines work
	buf []byte
}

const watchEvents = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

func newWatcher(dir string) *watcher {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return &watcher{}
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchEvents); err != nil {
		unix.Close(fd)
		return &watcher{}
	}
	// os.NewFile registers a non-blocking descriptor with the runtime's
	// poller, so a read waits without a thread and honours deadlines.
	return &watcher{f: os.NewFile(uintptr(fd), "inotify:"+dir), buf: make([]byte, 4096)}
}

// wait returns after an event, after d, or with ctx's error when it ends.
func (w *watcher) wait(ctx context.Context, d time.Duration) error {
	if w.f == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	if err := w.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	// The events themselves are not needed: Wait looks at the files again.
	_, err := w.f.Read(w.buf)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

func (w *watcher) close() {
	if w.f != nil {
		w.f.Close()
	}
}
