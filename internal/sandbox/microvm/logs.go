package microvm

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/fargo-dev/fargo/internal/shim"
	"github.com/fargo-dev/fargo/internal/vmproto"
)

// containerLog writes one attempt's output, as the guest sends it, to its
// CRI log file: the same format and line splitting as the OCI tier's
// shim.
type containerLog struct {
	path   string
	file   *os.File
	cri    *shim.CRILog
	stdout *io.PipeWriter
	stderr *io.PipeWriter
	done   sync.WaitGroup
}

// openLog opens path for appending (an adopted attempt goes on where the
// last agent stopped); a log that cannot be opened drops output rather
// than stall the guest.
func openLog(path string) *containerLog {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	var out io.Writer = io.Discard
	if err == nil {
		out = f
	}
	l := &containerLog{path: path, file: f, cri: shim.NewCRILog(out)}
	l.stdout = l.copy("stdout")
	l.stderr = l.copy("stderr")
	return l
}

func (l *containerLog) copy(stream string) *io.PipeWriter {
	r, w := io.Pipe()
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		_ = l.cri.Copy(stream, r)
		r.Close()
	}()
	return w
}

func (l *containerLog) write(m vmproto.Log) {
	if l == nil {
		return
	}
	w := l.stdout
	if m.Stderr {
		w = l.stderr
	}
	_, _ = w.Write(m.Data)
}

// close writes what is left of partial lines and closes the file.
func (l *containerLog) close() {
	l.stdout.Close()
	l.stderr.Close()
	l.done.Wait()
	if l.file != nil {
		l.file.Close()
	}
}

// reopen follows a rotation: later entries go to a new file at path.
func (l *containerLog) reopen() error {
	return l.cri.Reopen(func() (io.Writer, error) {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		if l.file != nil {
			l.file.Close()
		}
		l.file = f
		return f, nil
	})
}

// logFor is attempt id's log, opened on its first output.
func (p *pod) logFor(id string) *containerLog {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.logs[id]; ok {
		return l
	}
	c, ok := p.rec.Containers[id]
	if !ok || c.LogPath == "" {
		return nil
	}
	l := openLog(c.LogPath)
	p.logs[id] = l
	return l
}

func (p *pod) closeLogs() {
	p.mu.Lock()
	logs := p.logs
	p.logs = map[string]*containerLog{}
	p.mu.Unlock()
	for _, l := range logs {
		l.close()
	}
}
