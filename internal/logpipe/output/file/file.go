package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output appends records to files.
type Output struct {
	name   string
	dir    string // Path; "" is the router's working directory
	file   string // File; "" names each file after the tag
	mkdir  bool
	layout layout
	mu     sync.Mutex // one batch at a time, so lines of batches do not mix
}

var _ logpipe.Output = (*Output)(nil)

// New reads Path, File, Format (with Delimiter, Label_Delimiter,
// csv_column_names, Template) and mkdir.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	o := &Output{name: httpout.Name("file", p), dir: p.String("Path", ""), file: p.String("File", "")}
	var err error
	if o.mkdir, err = p.Bool("Mkdir", false); err != nil {
		return nil, o.errorf("%w", err)
	}
	if strings.ContainsRune(o.file, '/') {
		return nil, o.errorf("File is %q: write a file name alone and put the directory in Path", o.file)
	}
	if o.layout, err = readLayout(p); err != nil {
		return nil, o.errorf("%w", err)
	}
	return o, nil
}

func (o *Output) errorf(format string, args ...any) error {
	return fmt.Errorf("output %q: "+format, append([]any{o.name}, args...)...)
}

// Send appends each record's line to its file, one write per file.
func (o *Output) Send(_ context.Context, batch []logpipe.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mkdir && o.dir != "" {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return o.errorf("mkdir %s: %w", o.dir, err)
		}
	}
	var order []string
	groups := map[string][]logpipe.Record{}
	for _, rec := range batch {
		path := o.path(rec.Tag)
		if _, ok := groups[path]; !ok {
			order = append(order, path)
		}
		groups[path] = append(groups[path], rec)
	}
	for _, path := range order {
		if err := o.appendTo(path, groups[path]); err != nil {
			return err
		}
	}
	return nil
}

func (o *Output) path(tag string) string {
	name := o.file
	if name == "" {
		name = tag
	}
	return filepath.Join(o.dir, name)
}

func (o *Output) appendTo(path string, recs []logpipe.Record) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrNotExist) && !o.mkdir {
		return logpipe.Permanent(o.errorf("%w: create the directory, or set Mkdir On", err))
	}
	if err != nil {
		return o.errorf("%w", err)
	}
	defer f.Close()
	var b strings.Builder
	if o.layout.format == formatCSV && o.layout.columnNames {
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			b.WriteString(o.layout.csvHeader(recs[0]))
		}
	}
	for _, rec := range recs {
		line, err := o.layout.line(rec)
		if err != nil {
			return logpipe.Permanent(o.errorf("%w", err))
		}
		b.WriteString(line)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return o.errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// Close does nothing: files are opened for each batch, as Fluent Bit
// does, so rotating them needs no signal.
func (o *Output) Close() error { return nil }
