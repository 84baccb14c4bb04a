package tail

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// resolve returns the log the path points at now. A symlink that is gone
// or dangling (between a rotation's rename and the shim's reopen) leaves
// the last answer.
func (r *Reader) resolve() string {
	if t, err := filepath.EvalSymlinks(r.path); err == nil {
		r.target = t
	}
	return r.target
}

// start positions a new Reader at from; live is the log now at the path.
func (r *Reader) start(live *segment, from Position) error {
	if from.Inode == 0 {
		r.cur, r.last = live, Position{Inode: live.inode}
		return nil
	}
	r.last = from
	if live.inode == from.Inode {
		ok, err := live.seekVerified(from.Offset, from.Time)
		if err != nil || ok {
			r.cur = live
			return err
		}
		// The inode was reused: read the live log from its start.
		if _, err := live.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		live.read = 0
	}
	files, err := listRotated(r.target)
	if err != nil {
		return err
	}
	for i, f := range files {
		if f.inode() != from.Inode {
			continue
		}
		s, ok, err := openAt(f, from)
		if err != nil {
			return err
		}
		if ok {
			s.base = f.base
			r.cur, r.after = s, f.base
			r.queue, r.parked = cutAtLive(files[i+1:], live)
			return nil
		}
		break
	}
	// The file is gone or its inode reused: pick by time what may be new.
	r.queue, r.parked = cutAtLive(r.pick(files, nil), live)
	if _, err := r.openNext(); err != nil {
		return err
	}
	if r.cur == nil {
		return fmt.Errorf("%s: %w", r.target, os.ErrNotExist)
	}
	return nil
}

// openAt opens f at from, reporting false when f is not the file from was
// taken in.
func openAt(f rotatedFile, from Position) (*segment, bool, error) {
	s, err := f.open()
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	ok := s.inode == from.Inode
	if ok {
		if ok, err = s.seekVerified(from.Offset, from.Time); err != nil {
			s.close()
			return nil, false, err
		}
	}
	if !ok {
		s.close()
		return nil, false, nil
	}
	return s, true, nil
}

// advance moves on once the current file has nothing more now: it checks
// the live log for a rotation, or goes from a finished rotated file to the
// next file. It reports whether there may be more to read.
func (r *Reader) advance(b *batch) (bool, error) {
	if r.cur.live {
		return r.checkLive()
	}
	r.finishSegment(b)
	if len(r.queue) == 0 && r.parked == nil {
		if revived, err := r.plan(); err != nil || revived {
			return false, err
		}
	}
	return r.openNext()
}

// checkLive looks at the path: a different file there means the open one
// was rotated (renamed) and is complete, since the shim creates the new
// file only after its last write to the old; no file there and the open
// one deleted means the log is gone.
func (r *Reader) checkLive() (bool, error) {
	info, err := os.Stat(r.resolve())
	if errors.Is(err, os.ErrNotExist) {
		r.gone = r.deleted()
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tail: %w", err)
	}
	r.gone = false
	if inodeOf(info) != r.cur.inode {
		r.cur.live = false
		return true, nil
	}
	if info.Size() < r.cur.read {
		// Truncated in place (copytruncate): start again, as Fluent Bit.
		if _, err := r.cur.f.Seek(0, io.SeekStart); err != nil {
			return false, fmt.Errorf("tail: %w", err)
		}
		r.cur.read, r.buf, r.head, r.discarding = 0, r.buf[:0], 0, false
		return true, nil
	}
	return false, nil
}

// deleted says the open file has been removed, not renamed.
func (r *Reader) deleted() bool {
	_, nlink, err := fileID(r.cur.f)
	return err == nil && nlink == 0
}

// plan lists what to read after the finished current file: the rotated
// files newer than it, then the live log. The live log is opened first, so
// a rotation after the listing is found when the live log ends, and one
// before it shows in the listing. revived says the finished file is back
// at the path (a rotation undone) and is live again.
func (r *Reader) plan() (revived bool, err error) {
	live, err := openSegment(r.resolve())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("tail: %w", err)
	}
	if live != nil && live.inode == r.cur.inode {
		live.close()
		r.cur.live = true
		return true, nil
	}
	if live != nil {
		live.live = true
	}
	files, err := listRotated(r.target)
	if err != nil {
		live.close()
		return false, fmt.Errorf("tail: %w", err)
	}
	r.queue, r.parked = cutAtLive(r.pick(files, r.cur), live)
	return false, nil
}

// pick chooses, among the rotated files, those to read after finished
// (nil: none), oldest first. If finished is listed, the ones after it; if
// it was a rotated file, the ones named after it; if it was the live log
// and is not listed (compressed or removed since), those that may hold
// entries later than the last one read, which are dropped up to it.
func (r *Reader) pick(files []rotatedFile, finished *segment) []rotatedFile {
	if finished != nil {
		for i, f := range files {
			if f.inode() == finished.inode {
				r.after = f.base
				return files[i+1:]
			}
		}
		if finished.base != "" {
			return namedAfter(files, finished.base)
		}
	}
	files = namedAfter(files, r.after)
	t := r.last.Time
	if t.IsZero() {
		return files // nothing tells what was read: prefer duplicates
	}
	if t.After(r.skipThrough) {
		r.skipThrough = t
	}
	var newer []rotatedFile
	for _, f := range files {
		if f.mayHoldAfter(t) {
			newer = append(newer, f)
		}
	}
	return newer
}

// namedAfter drops the files (sorted) up to base ("": none).
func namedAfter(files []rotatedFile, base string) []rotatedFile {
	for len(files) > 0 && files[0].base <= base {
		files = files[1:]
	}
	return files
}

// cutAtLive ends the queue at the live log if it was rotated between its
// opening and the listing: then it is read by name, and the live log is
// opened again after it.
func cutAtLive(queue []rotatedFile, live *segment) ([]rotatedFile, *segment) {
	if live == nil {
		return queue, nil
	}
	for i, f := range queue {
		if f.inode() == live.inode {
			live.close()
			return queue[:i+1], nil
		}
	}
	return queue, live
}

// openNext makes the next queued file current, or the parked live log.
// It reports false when there is none: the live log is missing, between a
// rotation's rename and the shim's reopen, or gone with its pod.
func (r *Reader) openNext() (bool, error) {
	for len(r.queue) > 0 {
		f := r.queue[0]
		r.queue = r.queue[1:]
		r.after = f.base
		s, err := f.open()
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned meanwhile: nothing of it is left to read
		}
		if err != nil {
			return false, fmt.Errorf("tail: %w", err)
		}
		s.base = f.base
		r.switchTo(s)
		return true, nil
	}
	if r.parked != nil {
		s := r.parked
		r.parked = nil
		r.switchTo(s)
		return true, nil
	}
	if r.cur != nil {
		r.gone = r.deleted()
	}
	return false, nil
}

func (r *Reader) switchTo(s *segment) {
	r.cur.close()
	r.cur, r.buf, r.head, r.gone = s, r.buf[:0], 0, false
}
