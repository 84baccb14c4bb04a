package shim

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// MaxLogLine is the longest piece of a line written as one CRI log entry;
// longer lines are split into partial (P) entries, as the kubelet does.
const MaxLogLine = 16 * 1024

// CRILog writes container output in the CRI log format the kubelet and
// log collectors read: "<RFC3339Nano time> <stream> <F|P> <text>\n".
// Both streams of a container share one CRILog; whole entries never
// interleave.
type CRILog struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
	buf []byte
	// err is the first write error; later entries are dropped, but the
	// streams are still drained so the container never blocks on a pipe.
	err error
}

// NewCRILog returns a CRILog writing to out.
func NewCRILog(out io.Writer) *CRILog {
	return &CRILog{out: out, now: time.Now}
}

// writeEntry writes one entry; full says whether text ends a line.
func (l *CRILog) writeEntry(stream string, full bool, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	tag := " P "
	if full {
		tag = " F "
	}
	b := l.now().UTC().AppendFormat(l.buf[:0], time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, tag...)
	b = append(b, text...)
	b = append(b, '\n')
	l.buf = b
	_, l.err = l.out.Write(b)
}

// Reopen makes later entries go to the writer open returns, as after a
// log rotation, and clears a previous write error. open runs under the
// lock, so no entry reaches the old file once the new one exists: a
// follower (kubectl logs -f) switches files as soon as the new one appears.
func (l *CRILog) Reopen(open func() (io.Writer, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	out, err := open()
	if err != nil {
		return err
	}
	l.out, l.err = out, nil
	return nil
}

// Err returns the first error writing the log, if any.
func (l *CRILog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Copy reads r until EOF and writes each line as entries of stream
// ("stdout" or "stderr"). A final line without a newline is written as a
// partial entry at EOF, as containerd writes it, so that readers give
// back exactly what the container wrote (`echo -n DONE` reads as "DONE").
// It returns the read error, if not EOF; write errors are kept for Err.
func (l *CRILog) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			l.writeEntry(stream, true, line[:len(line)-1])
		case errors.Is(err, bufio.ErrBufferFull):
			l.writeEntry(stream, false, line)
		default:
			if len(line) > 0 {
				l.writeEntry(stream, false, line)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
