package loki

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// Output pushes batches to Loki.
type Output struct {
	name       string
	env        logpipe.Env
	conn       *httpout.Conn
	tenant     string
	tenantKey  logpipe.Accessor
	labels     []pair
	metadata   []pair
	k8sLabels  bool
	remove     []logpipe.Accessor
	lineFormat lineFormat
	drop       dropSingleKey
}

var _ logpipe.Output = (*Output)(nil)

// New reads the loki output's keys.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	o := &Output{name: httpout.Name("loki", p), env: env}
	if err := o.readConnection(p); err != nil {
		return nil, fmt.Errorf("output %q: %w", o.name, err)
	}
	if err := o.readRecordKeys(p); err != nil {
		return nil, fmt.Errorf("output %q: %w", o.name, err)
	}
	return o, nil
}

func (o *Output) readConnection(p logpipe.Params) error {
	var err error
	o.conn, err = httpout.ReadConn(p, o.env, httpout.Endpoint{DefaultHost: "127.0.0.1", DefaultPort: 3100, PathKey: "Uri", DefaultPath: "/loki/api/v1/push"}, "bearer_token")
	if err != nil {
		return err
	}
	o.tenant = p.String("tenant_id", "")
	if v := p.String("tenant_id_key", ""); v != "" {
		if o.tenantKey, err = logpipe.ParseAccessor(v); err != nil {
			return fmt.Errorf("tenant_id_key: %w", err)
		}
	}
	return nil
}

func (o *Output) readRecordKeys(p logpipe.Params) error {
	var used []logpipe.Accessor
	add := func(pairs []pair, u []logpipe.Accessor, err error) error {
		o.labels, used = append(o.labels, pairs...), append(used, u...)
		return err
	}
	if err := add(parsePairs("labels", p.String("labels", ""))); err != nil {
		return err
	}
	for _, k := range splitList(p.String("label_keys", "")) {
		if !strings.HasPrefix(k, "$") {
			return fmt.Errorf("label_keys: %q must start with $ (write $%s)", k, k)
		}
		if err := add(parsePairs("label_keys", k)); err != nil {
			return err
		}
	}
	if path := p.String("label_map_path", ""); path != "" {
		if err := add(readLabelMap(path)); err != nil {
			return err
		}
	}
	meta, metaUsed, err := parsePairs("structured_metadata", p.String("structured_metadata", ""))
	if err != nil {
		return err
	}
	o.metadata, used = meta, append(used, metaUsed...)
	if _, ok := p.Get("structured_metadata_map_keys"); ok {
		return fmt.Errorf("structured_metadata_map_keys is not supported by fargo: list the entries in structured_metadata")
	}
	if o.k8sLabels, err = p.Bool("auto_kubernetes_labels", false); err != nil {
		return err
	}
	for _, k := range splitList(p.String("remove_keys", "")) {
		acc, err := logpipe.ParseAccessor(k)
		if err != nil {
			return fmt.Errorf("remove_keys: %w", err)
		}
		used = append(used, acc)
	}
	o.remove = used
	o.lineFormat, o.drop, err = readLineFormat(p)
	return err
}

// stream is the entries of one label set.
type stream struct {
	Stream map[string]string `json:"stream"`
	Values [][]any           `json:"values"`
}

// Send pushes batch, one request per tenant.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	var tenants []string
	byTenant := map[string][]*stream{}
	index := map[string]*stream{}
	for _, rec := range batch {
		tenant, labels, entry, err := o.entry(rec)
		if err != nil {
			o.env.Log("output %q: dropping a record of %s: %v", o.name, rec.Tag, err)
			continue
		}
		key := tenant + "\x00" + labelKey(labels)
		s, ok := index[key]
		if !ok {
			if _, seen := byTenant[tenant]; !seen {
				tenants = append(tenants, tenant)
			}
			s = &stream{Stream: labels}
			index[key] = s
			byTenant[tenant] = append(byTenant[tenant], s)
		}
		s.Values = append(s.Values, entry)
	}
	for _, tenant := range tenants {
		if err := o.push(ctx, tenant, byTenant[tenant]); err != nil {
			return err
		}
	}
	return nil
}

// entry returns a record's tenant, labels and push entry
// [timestamp, line(, metadata)].
func (o *Output) entry(rec logpipe.Record) (string, map[string]string, []any, error) {
	tenant := o.tenant
	if o.tenantKey != nil {
		if v, ok := o.tenantKey.Get(rec.Fields); ok {
			if s, ok := v.(string); ok {
				tenant = s
			}
		}
	}
	labels := map[string]string{}
	resolve(o.labels, rec.Fields, labels)
	if o.k8sLabels {
		kubernetesLabels(rec.Fields, labels)
	}
	if len(labels) == 0 {
		labels["job"] = "fluent-bit"
	}
	var meta map[string]string
	if len(o.metadata) > 0 {
		meta = map[string]string{}
		resolve(o.metadata, rec.Fields, meta)
	}
	fields := rec.Fields
	if len(o.remove) > 0 {
		fields = rec.Clone().Fields
		for _, acc := range o.remove {
			acc.Delete(fields)
		}
	}
	line, err := o.line(fieldsOrEmpty(fields))
	if err != nil {
		return "", nil, nil, err
	}
	entry := []any{strconv.FormatInt(rec.Time.UnixNano(), 10), line}
	if len(meta) > 0 {
		entry = append(entry, meta)
	}
	return tenant, labels, entry, nil
}

func (o *Output) push(ctx context.Context, tenant string, streams []*stream) error {
	body, err := httpout.MarshalJSON(map[string]any{"streams": streams})
	if err != nil {
		return logpipe.Permanent(err)
	}
	var extra http.Header
	if tenant != "" {
		extra = http.Header{}
		extra.Set("X-Scope-OrgID", tenant)
	}
	if _, err := o.conn.Post(ctx, body, extra); err != nil {
		return fmt.Errorf("output %q: push to %s: %w", o.name, o.conn.URL, err)
	}
	return nil
}

// labelKey is a label set as a string, to group entries into streams.
func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\x00" + labels[k] + "\x00")
	}
	return b.String()
}

func fieldsOrEmpty(f map[string]any) map[string]any {
	if f == nil {
		return map[string]any{}
	}
	return f
}

// Close releases the connections of the output's own TLS transport.
func (o *Output) Close() error {
	o.conn.Close()
	return nil
}
