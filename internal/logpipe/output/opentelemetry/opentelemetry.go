package opentelemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output posts batches of logs to an OTLP/HTTP receiver.
type Output struct {
	name           string
	env            logpipe.Env
	conn           *httpout.Conn
	bodyKeys       []logpipe.Accessor
	bodyAttributes bool
	now            func() time.Time
}

var _ logpipe.Output = (*Output)(nil)

// New reads the opentelemetry output's keys.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	o := &Output{name: httpout.Name("opentelemetry", p), env: env, now: time.Now}
	if err := o.read(p); err != nil {
		return nil, fmt.Errorf("output %q: %w", o.name, err)
	}
	return o, nil
}

func (o *Output) read(p logpipe.Params) error {
	var err error
	o.conn, err = httpout.ReadConn(p, o.env, httpout.Endpoint{DefaultHost: "127.0.0.1", DefaultPort: 80, PathKey: "Logs_uri", DefaultPath: "/v1/logs"}, "")
	if err != nil {
		return err
	}
	for _, k := range p.All("logs_body_key") {
		acc, err := logpipe.ParseAccessor(k)
		if err != nil {
			return fmt.Errorf("logs_body_key: %w", err)
		}
		o.bodyKeys = append(o.bodyKeys, acc)
	}
	o.bodyAttributes, err = p.Bool("logs_body_key_attributes", false)
	return err
}

// Send posts batch as one export request.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	body, err := httpout.MarshalJSON(o.request(batch))
	if err != nil {
		return logpipe.Permanent(fmt.Errorf("output %q: %w", o.name, err))
	}
	reply, err := o.conn.Post(ctx, body, nil)
	if err != nil {
		return fmt.Errorf("output %q: POST %s: %w", o.name, o.conn.URL, err)
	}
	o.logRejected(reply)
	return nil
}

// request groups batch by Kubernetes resource, in the order resources
// first appear.
func (o *Output) request(batch []logpipe.Record) exportRequest {
	observed := strconv.FormatInt(o.now().UnixNano(), 10)
	var req exportRequest
	index := map[string]int{}
	for _, rec := range batch {
		attrs, key := resourceOf(rec.Fields)
		i, ok := index[key]
		if !ok {
			i = len(req.ResourceLogs)
			index[key] = i
			req.ResourceLogs = append(req.ResourceLogs, resourceLogs{
				Resource:  resource{Attributes: attrs},
				ScopeLogs: []scopeLogs{{}},
			})
		}
		sl := &req.ResourceLogs[i].ScopeLogs[0]
		sl.LogRecords = append(sl.LogRecords, o.logRecord(rec, observed))
	}
	return req
}

func (o *Output) logRecord(rec logpipe.Record, observed string) logRecord {
	lr := logRecord{TimeUnixNano: strconv.FormatInt(rec.Time.UnixNano(), 10), ObservedTimeUnixNano: observed}
	fields := rec.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	for _, acc := range o.bodyKeys {
		v, ok := acc.Get(fields)
		if !ok {
			continue
		}
		lr.Body = toAny(v)
		if o.bodyAttributes {
			rest := rec.Clone().Fields
			acc.Delete(rest)
			lr.Attributes = toKeyValues(rest)
		}
		return lr
	}
	lr.Body = toAny(fields)
	return lr
}

// k8sAttributes maps the kubernetes filter's keys to OpenTelemetry's
// semantic conventions for Kubernetes resources.
var k8sAttributes = []struct{ field, attr string }{
	{"namespace_name", "k8s.namespace.name"},
	{"pod_name", "k8s.pod.name"},
	{"pod_id", "k8s.pod.uid"},
	{"container_name", "k8s.container.name"},
	{"host", "k8s.node.name"},
}

// resourceOf returns the resource attributes of a record and a key
// grouping records of the same resource.
func resourceOf(fields map[string]any) ([]keyValue, string) {
	k8s, _ := fields["kubernetes"].(map[string]any)
	var attrs []keyValue
	key := ""
	for _, m := range k8sAttributes {
		s, ok := k8s[m.field].(string)
		if !ok || s == "" {
			continue
		}
		attrs = append(attrs, keyValue{Key: m.attr, Value: anyValue{StringValue: &s}})
		key += m.attr + "=" + s + "\x00"
	}
	return attrs, key
}

// logRejected logs what the receiver reports it rejected: retrying would
// not change its mind.
func (o *Output) logRejected(reply []byte) {
	var r exportResponse
	if json.Unmarshal(reply, &r) != nil {
		return
	}
	if n := strings.Trim(string(r.PartialSuccess.RejectedLogRecords), `"`); n != "" && n != "0" {
		o.env.Log("output %q: the receiver rejected %s log records: %s", o.name, n, r.PartialSuccess.ErrorMessage)
	}
}

// Close releases the connections of the output's own TLS transport.
func (o *Output) Close() error {
	o.conn.Close()
	return nil
}
