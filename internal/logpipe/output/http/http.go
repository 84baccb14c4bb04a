package http

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output posts batches to an HTTP endpoint.
type Output struct {
	name      string
	conn      *httpout.Conn
	format    httpout.JSONFormat
	date      httpout.DateKey
	headerTag string
}

var _ logpipe.Output = (*Output)(nil)

// New reads the http output's keys.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	o := &Output{name: httpout.Name("http", p)}
	if err := o.read(p, env); err != nil {
		return nil, fmt.Errorf("output %q: %w", o.name, err)
	}
	return o, nil
}

func (o *Output) read(p logpipe.Params, env logpipe.Env) error {
	var err error
	if o.conn, err = httpout.ReadConn(p, env, httpout.Endpoint{DefaultHost: "127.0.0.1", DefaultPort: 80, PathKey: "URI", DefaultPath: "/"}, ""); err != nil {
		return err
	}
	if o.format, err = httpout.ParseJSONFormat(p.String("Format", "msgpack")); err != nil {
		return err
	}
	if o.date, err = httpout.ReadDateKey(p); err != nil {
		return err
	}
	o.headerTag = p.String("header_tag", "")
	return nil
}

// Send posts batch. With header_tag, records are sent in runs of one tag,
// each run with its tag in that header.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	if o.headerTag == "" {
		return o.post(ctx, batch, "")
	}
	for start := 0; start < len(batch); {
		end := start + 1
		for end < len(batch) && batch[end].Tag == batch[start].Tag {
			end++
		}
		if err := o.post(ctx, batch[start:end], batch[start].Tag); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (o *Output) post(ctx context.Context, batch []logpipe.Record, tag string) error {
	body, err := o.format.Encode(batch, o.date)
	if err != nil {
		return logpipe.Permanent(err)
	}
	var extra http.Header
	if tag != "" {
		extra = http.Header{}
		extra.Set(o.headerTag, tag)
	}
	if _, err := o.conn.Post(ctx, body, extra); err != nil {
		return fmt.Errorf("output %q: POST %s: %w", o.name, o.conn.URL, err)
	}
	return nil
}

// Close releases the connections of the output's own TLS transport.
func (o *Output) Close() error {
	o.conn.Close()
	return nil
}
