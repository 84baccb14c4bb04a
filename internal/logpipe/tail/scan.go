package tail

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"time"
)

// batch is what one Read returns.
type batch struct {
	lines []Line
	bytes int
	limit int // 0: none
}

// full says whether a line of size more would take b past its limit; the
// first line always fits, or a line over the limit could never be read.
func (b *batch) full(more int) bool {
	return b.limit > 0 && len(b.lines) > 0 && b.bytes+more > b.limit
}

// scan consumes the whole entries in the buffer. It reports true when b
// is full; the entry that did not fit stays in the buffer.
func (r *Reader) scan(b *batch) bool {
	for {
		data := r.buf[r.head:]
		i := bytes.IndexByte(data, '\n')
		if r.discarding {
			if i < 0 {
				r.head = len(r.buf)
				return false
			}
			r.head += i + 1
			r.discarding = false
			r.consume(b, nil, r.discarded, r.headOffset(), true)
			continue
		}
		if i < 0 {
			if len(data) > r.physicalMax() {
				// Keep only the header: it says whether this is a part of
				// a longer line, and of which stream.
				r.discarding, r.discarded = true, parseEntry(data)
				r.discarded.timeTok = slices.Clone(r.discarded.timeTok)
				r.discarded.text = nil
				r.head = len(r.buf)
			}
			return false
		}
		raw := data[:i]
		e := parseEntry(raw)
		if b.full(r.completedSize(raw, e)) {
			return true
		}
		r.head += i + 1
		r.consume(b, raw, e, r.headOffset(), false)
	}
}

// headOffset is the file offset of buf[head].
func (r *Reader) headOffset() int64 {
	return r.cur.read - int64(len(r.buf)-r.head)
}

// completedSize is the size of the line e completes, 0 if none.
func (r *Reader) completedSize(raw []byte, e entry) int {
	switch {
	case !e.ok:
		return len(raw)
	case e.partial:
		return 0
	case r.holds[e.stream].active:
		return r.holds[e.stream].size(len(e.text))
	}
	return len(raw)
}

// fill reads more of the current file into the buffer. It returns 0 at
// the file's end.
func (r *Reader) fill() (int, error) {
	if r.cur.broken {
		return 0, nil
	}
	n := copy(r.buf, r.buf[r.head:])
	r.buf, r.head = r.buf[:n], 0
	got, err := r.cur.src.Read(r.buf[n:cap(r.buf)])
	r.buf = r.buf[:n+got]
	r.cur.read += int64(got)
	switch {
	case err == nil || err == io.EOF:
		return got, nil
	case r.cur.live:
		return got, fmt.Errorf("tail: read %s: %w", r.cur.path, err)
	}
	// A damaged rotated file: go on with the next one, after saying so.
	r.cur.broken = true
	return got, fmt.Errorf("tail: read rotated log %s: %w; the rest of it is skipped", r.cur.path, err)
}

// finishSegment consumes what is left of a file that will not grow: a
// last entry without its newline, or the end of a discarded one.
func (r *Reader) finishSegment(b *batch) {
	end := r.cur.read
	if r.discarding {
		r.discarding = false
		r.consume(b, nil, r.discarded, end, true)
	} else if data := r.buf[r.head:]; len(data) > 0 {
		r.consume(b, data, parseEntry(data), end, false)
	}
	r.buf, r.head = r.buf[:0], 0
}

// consume takes one entry ending at offset end. tooLong says it was
// discarded for its length; raw is then nil and e only its header.
func (r *Reader) consume(b *batch, raw []byte, e entry, end int64, tooLong bool) {
	before := r.last
	r.last = Position{Inode: r.cur.inode, Offset: end, Time: e.time}
	r.seq++
	if !r.skipThrough.IsZero() {
		if !e.ok || !e.time.After(r.skipThrough) {
			return
		}
		r.skipThrough = time.Time{}
	}
	tooLong = tooLong || len(raw) > r.opt.MaxLineBytes
	if !e.ok {
		r.emitUnlessTooLong(b, tooLong, func() Line { return plainLine(raw) })
		return
	}
	h := &r.holds[e.stream]
	if e.partial {
		h.add(e, before, r.seq, r.opt.MaxLineBytes)
		if tooLong {
			h.tooLong, h.text = true, h.text[:0]
		}
		return
	}
	if !h.active {
		r.emitUnlessTooLong(b, tooLong, func() Line { return fullLine(raw, e) })
		return
	}
	tooLong = tooLong || h.tooLong || h.size(len(e.text)) > r.opt.MaxLineBytes
	var joined Line
	if !tooLong {
		joined = h.line(e.stream, e.text)
	}
	h.reset()
	r.emitUnlessTooLong(b, tooLong, func() Line { return joined })
}

func (r *Reader) emitUnlessTooLong(b *batch, tooLong bool, line func() Line) {
	if tooLong {
		r.skipped++
		return
	}
	l := line()
	l.End = r.handedOut()
	b.lines = append(b.lines, l)
	b.bytes += len(l.Raw)
}

// handedOut is the position a returned line carries: just after the last
// entry, unless parts of another line are held; then where the earliest
// of those starts, so that resuming there loses none of its parts.
func (r *Reader) handedOut() Position {
	var first *partialLine
	for i := range r.holds {
		if h := &r.holds[i]; h.active && (first == nil || h.seq < first.seq) {
			first = h
		}
	}
	if first == nil {
		return r.last
	}
	return first.from
}

// flushTo emits the held lines, oldest first, as if their F had come.
func (r *Reader) flushTo(b *batch) {
	for {
		var first *partialLine
		stream := 0
		for i := range r.holds {
			if h := &r.holds[i]; h.active && (first == nil || h.seq < first.seq) {
				first, stream = h, i
			}
		}
		if first == nil {
			return
		}
		tooLong := first.tooLong
		var l Line
		if !tooLong {
			l = first.line(stream, nil)
		}
		first.reset()
		r.emitUnlessTooLong(b, tooLong, func() Line { return l })
	}
}
