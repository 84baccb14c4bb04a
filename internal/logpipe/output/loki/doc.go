// Package loki is Fluent Bit's loki output for fargo's log router: it
// pushes batches to Loki's push API (POST Uri, default /loki/api/v1/push,
// JSON body {"streams":[{"stream":{labels},"values":[["<ns>","<line>"]]}]}).
//
// Labels are built as Fluent Bit builds them: static pairs (job=web),
// record accessors ($kubernetes['namespace_name'] becomes the label
// kubernetes_namespace_name; name=$key names it), label_keys,
// label_map_path (a JSON file mapping record keys to label names) and
// auto_kubernetes_labels (every $kubernetes['labels'] entry). A record
// with no label gets job=fluent-bit. Keys used as labels are removed from
// the line, as are remove_keys. The line is the rest of the record as
// JSON (line_format json) or as key="value" pairs (key_value), or just
// the value when drop_single_key is On (raw: an unquoted string) and one
// key remains. key_value pairs are written sorted by key (Go maps have no
// order).
//
// tenant_id sets X-Scope-OrgID; tenant_id_key takes it from each record
// (one request per tenant). structured_metadata adds Loki 3 structured
// metadata to each entry.
//
// A 2xx reply accepts the batch; 408, 429 and 5xx are retried; any other
// 4xx (Loki answers 400 for out-of-order or malformed entries) is
// permanent. Loki drops an entry identical to one already stored (same
// stream, time and line), so a retried batch is not stored twice.
package loki
