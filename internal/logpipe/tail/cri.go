package tail

import (
	"bytes"
	"strings"
	"time"
)

// Line is one log line of the container: a CRI entry, or the partial
// entries of a long line joined into one.
type Line struct {
	// Raw is the CRI line without its newline. Joined partial entries
	// become one line marked F with the first part's time.
	Raw string
	// Time is the CRI time; zero for a line that is not CRI.
	Time time.Time
	// Stream is "stdout" or "stderr"; "stdout" for a line that is not CRI.
	Stream string
	// Text is the log text, after the P/F marker; all of Raw for a line
	// that is not CRI.
	Text string
	// End is the position just after the line's last part: Open from End
	// to continue after this line.
	End Position
}

// entry is one physical line of a CRI log file:
// "<RFC3339Nano time> <stdout|stderr> <tags> <text>".
type entry struct {
	ok      bool // false: not a CRI line
	time    time.Time
	timeTok []byte // the time as written, reused when joining
	stream  int    // index into streams
	partial bool
	text    []byte
}

// streams are the CRI streams; Fluent Bit's cri parser accepts only these.
var streams = [2]string{"stdout", "stderr"}

// parseEntry splits raw (without its newline) into a CRI entry's parts.
func parseEntry(raw []byte) entry {
	timeTok, rest, ok := bytes.Cut(raw, []byte{' '})
	if !ok {
		return entry{}
	}
	streamTok, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return entry{}
	}
	e := entry{stream: -1, timeTok: timeTok}
	for i, s := range streams {
		if string(streamTok) == s {
			e.stream = i
		}
	}
	if e.stream < 0 {
		return entry{}
	}
	// The text may be missing entirely when a tool trims the trailing space
	// of an empty line; the kubelet's reader accepts that too.
	tags, text, _ := bytes.Cut(rest, []byte{' '})
	t, err := time.Parse(time.RFC3339Nano, string(timeTok))
	if err != nil || len(tags) == 0 {
		return entry{}
	}
	e.ok, e.time, e.text = true, t, text
	// Tags are ':'-separated (CRI reserves room for more); P marks a part.
	for tag := range bytes.SplitSeq(tags, []byte{':'}) {
		e.partial = e.partial || string(tag) == "P"
	}
	return e
}

// plainLine is the Line of a non-CRI line, passed on as it is.
func plainLine(raw []byte) Line {
	s := string(raw)
	return Line{Raw: s, Stream: streams[0], Text: s}
}

// fullLine is the Line of an F entry that has no parts before it: its raw
// text is kept as written.
func fullLine(raw []byte, e entry) Line {
	s := string(raw)
	return Line{Raw: s, Time: e.time, Stream: streams[e.stream], Text: s[len(s)-len(e.text):]}
}

// partialLine collects the P entries of one stream until its F entry.
type partialLine struct {
	active bool
	// from is where the line's first part starts: while parts are held no
	// position after it is handed out, so a reader resumed from any
	// returned End reads every part again.
	from    Position
	seq     uint64 // orders held lines: the earlier started has the lower
	timeTok string
	time    time.Time
	text    []byte
	tooLong bool // over the limit: the parts are dropped, the line skipped
}

// add appends e's text, or drops it once the joined line exceeds max.
// from and seq are where the line starts, used when e is its first part.
func (p *partialLine) add(e entry, from Position, seq uint64, max int) {
	if !p.active {
		*p = partialLine{active: true, from: from, seq: seq, timeTok: string(e.timeTok), time: e.time, text: p.text[:0]}
	}
	if p.tooLong || p.size(len(e.text)) > max {
		p.tooLong, p.text = true, p.text[:0]
		return
	}
	p.text = append(p.text, e.text...)
}

// size is the length of the joined Raw line with more bytes of text.
func (p *partialLine) size(more int) int {
	return len(p.timeTok) + len(" stdout F ") + len(p.text) + more
}

// line joins the held parts and last (nil when flushing without an F).
func (p *partialLine) line(stream int, last []byte) Line {
	var b strings.Builder
	b.Grow(p.size(len(last)))
	b.WriteString(p.timeTok)
	b.WriteByte(' ')
	b.WriteString(streams[stream])
	b.WriteString(" F ")
	b.Write(p.text)
	b.Write(last)
	raw := b.String()
	return Line{Raw: raw, Time: p.time, Stream: streams[stream], Text: raw[len(raw)-len(p.text)-len(last):]}
}

func (p *partialLine) reset() {
	*p = partialLine{text: p.text[:0]}
}
