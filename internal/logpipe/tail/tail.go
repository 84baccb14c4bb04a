package tail

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Position is where a Reader is in a container's log, saved to resume
// from after a restart.
type Position struct {
	// Inode identifies the file: the live log, or a rotated (possibly
	// gzipped, then Offset counts uncompressed bytes) sibling.
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
	// Time is the CRI time of the entry ending at Offset, zero when there
	// is none or it is not CRI. It tells the file from a later one that
	// reused its inode, and says what was passed when the file is gone.
	Time time.Time `json:"time,omitzero"`
}

// Options tune a Reader; zero fields take the defaults.
type Options struct {
	// MaxLineBytes is the longest line returned, P parts joined and
	// counted as Raw; longer lines are skipped whole and counted (Fluent
	// Bit's Skip_Long_Lines). Default 256 KiB.
	MaxLineBytes int
	// ReadBytes is the most bytes of lines one Read returns, unless a
	// single line is longer. Default 1 MiB.
	ReadBytes int
	// Poll is how often Wait looks at the file when inotify is not
	// available, and how often it looks again anyway. Default 250ms.
	Poll time.Duration
}

// Defaults of Options.
const (
	DefaultMaxLineBytes = 256 << 10
	DefaultReadBytes    = 1 << 20
	DefaultPoll         = 250 * time.Millisecond
)

// readChunk is how much one read from the file asks for.
const readChunk = 64 << 10

// headerSlack lets a physical entry be this much longer than MaxLineBytes
// before it is discarded unparsed: joined lines carry the first part's
// header, which may be a few bytes longer than this part's.
const headerSlack = 64

func (o Options) withDefaults() (Options, error) {
	if o.MaxLineBytes < 0 || o.ReadBytes < 0 || o.Poll < 0 {
		return o, fmt.Errorf("tail: Options MaxLineBytes %d, ReadBytes %d, Poll %v: none may be negative; use 0 for the default",
			o.MaxLineBytes, o.ReadBytes, o.Poll)
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.ReadBytes == 0 {
		o.ReadBytes = DefaultReadBytes
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	return o, nil
}

// Reader reads one container's CRI log, following its rotation. It is
// not safe for concurrent use: call Read, Wait and Close from one
// goroutine (cancel Wait's context to stop it).
type Reader struct {
	path   string // as given: the container's symlink, or the log itself
	target string // the log the path pointed at when last resolved
	opt    Options

	cur *segment
	// queue holds rotated files to read after cur, oldest first, and then
	// parked, the live log (opened before the queue was listed, so no
	// rotation in between goes unseen).
	queue  []rotatedFile
	parked *segment
	// after is the name of the last rotated file read ("" for none): the
	// next ones sort after it.
	after string

	buf  []byte // read from cur; buf[head:] is not consumed yet
	head int
	// discarding is set while the rest of an entry too long to keep is
	// dropped; discarded is that entry's header.
	discarding bool
	discarded  entry

	last  Position // just after the last entry consumed
	holds [len(streams)]partialLine
	seq   uint64 // entries consumed, to order holds
	// skipThrough, when set, drops entries at or before it: a resumed or
	// catching-up reader re-reads a file it may have passed in part, and
	// stops skipping at the first later entry.
	skipThrough time.Time

	more    bool // the last Read stopped at ReadBytes
	gone    bool
	skipped int
	w       *watcher
}

// Open opens the log at path (the symlink under containers/ or the file)
// and positions it at from:
//   - the zero Position starts at the head of the current log;
//   - a Position in the current log, or in a rotated sibling still there
//     (gzipped or not), continues after it, then reads the newer rotated
//     files and the current log;
//   - a Position whose file is gone (compressed or pruned since, or its
//     inode reused) reads the rotated files that may hold later entries
//     and the current log, dropping entries up to the Position's Time; with
//     no Time it reads them all, preferring duplicates to a loss.
//
// A log that does not exist is an error wrapping os.ErrNotExist.
func Open(path string, from Position, opt Options) (*Reader, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Reader{path: path, target: path, opt: opt}
	live, err := openSegment(r.resolve())
	if err != nil {
		return nil, fmt.Errorf("tail: open container log %s: %w", path, err)
	}
	live.live = true
	if err := r.start(live, from); err != nil {
		live.close()
		r.Close()
		return nil, fmt.Errorf("tail: resume %s at %+v: %w", path, from, err)
	}
	r.buf = make([]byte, 0, r.physicalMax()+readChunk)
	r.w = newWatcher(filepath.Dir(r.target))
	return r, nil
}

// physicalMax is the longest entry kept whole in the buffer.
func (r *Reader) physicalMax() int { return r.opt.MaxLineBytes + headerSlack }

// Read returns the lines available now, up to ReadBytes of them. It never
// blocks and never returns io.EOF: an empty slice means nothing new. A
// line whose P parts have not all arrived, or whose newline has not, is
// returned once it is complete.
func (r *Reader) Read() ([]Line, error) {
	if r.cur == nil {
		return nil, errClosed
	}
	b := batch{limit: r.opt.ReadBytes}
	r.more = false
	for {
		if r.scan(&b) {
			r.more = true
			return b.lines, nil
		}
		n, err := r.fill()
		if err != nil {
			return b.lines, err
		}
		if n > 0 {
			continue
		}
		moved, err := r.advance(&b)
		if err != nil || !moved {
			if r.gone {
				r.flushTo(&b)
			}
			return b.lines, err
		}
	}
}

var errClosed = errors.New("tail: Read on a closed Reader")

// Flush returns the lines whose P parts are held waiting for their F, as
// if it had come: for a caller that knows the writer is done (a container
// that exited mid-line). Read does this itself once Gone.
func (r *Reader) Flush() []Line {
	var b batch
	r.flushTo(&b)
	return b.lines
}

// Skipped is how many lines were skipped for being longer than
// MaxLineBytes.
func (r *Reader) Skipped() int { return r.skipped }

// Gone reports that the log was deleted (its pod or container removed),
// not just rotated, and everything in it has been read: the caller can
// finish.
func (r *Reader) Gone() bool { return r.gone }

// Close releases the open files.
func (r *Reader) Close() error {
	r.cur.close()
	r.parked.close()
	r.cur, r.parked = nil, nil
	if r.w != nil {
		r.w.close()
		r.w = nil
	}
	return nil
}
