package stdout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output writes records to a writer.
type Output struct {
	mu     sync.Mutex
	w      io.Writer
	print  bool // Fluent Bit's print form (Format msgpack, the default)
	format httpout.JSONFormat
	date   httpout.DateKey
}

var _ logpipe.Output = (*Output)(nil)

// New reads Format, json_date_key and json_date_format; w is where
// records are written (the router's log stream).
func New(p logpipe.Params, env logpipe.Env, w io.Writer) (*Output, error) {
	name := httpout.Name("stdout", p)
	if w == nil {
		return nil, fmt.Errorf("output %q: no writer given", name)
	}
	o := &Output{w: w}
	var err error
	if o.date, err = httpout.ReadDateKey(p); err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	f := p.String("Format", "msgpack")
	if strings.EqualFold(strings.TrimSpace(f), "msgpack") {
		o.print = true
		return o, nil
	}
	if o.format, err = httpout.ParseJSONFormat(f); err != nil {
		return nil, fmt.Errorf("output %q: Format is %q: write msgpack (the default print form), json, json_lines or json_stream", name, f)
	}
	return o, nil
}

// Send writes batch with one Write.
func (o *Output) Send(_ context.Context, batch []logpipe.Record) error {
	var buf []byte
	if o.print {
		buf = printBatch(batch)
	} else {
		var err error
		if buf, err = o.format.Encode(batch, o.date); err != nil {
			return logpipe.Permanent(err)
		}
		// Fluent Bit ends json and json_stream output with a newline;
		// json_lines ends each line with one already.
		if o.format != httpout.JSONLines {
			buf = append(buf, '\n')
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := o.w.Write(buf)
	return err
}

// printBatch writes records as Fluent Bit's stdout prints them, counted
// from 0 in each batch as Fluent Bit counts in each chunk.
func printBatch(batch []logpipe.Record) []byte {
	var b bytes.Buffer
	for i, rec := range batch {
		b.WriteString("[" + strconv.Itoa(i) + "] " + rec.Tag + ": [")
		b.WriteString(httpout.PrintTime(rec.Time))
		b.WriteString(", ")
		b.WriteString(httpout.PrintValue(fieldsOrEmpty(rec.Fields)))
		b.WriteString("]\n")
	}
	return b.Bytes()
}

func fieldsOrEmpty(f map[string]any) map[string]any {
	if f == nil {
		return map[string]any{}
	}
	return f
}

// Close does nothing: the writer belongs to the router.
func (o *Output) Close() error { return nil }
