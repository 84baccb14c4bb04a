// Package httpout holds what fargo's non-AWS log outputs (es, http, loki,
// opentelemetry, and the local file and stdout) share, so each behaves
// the same way for the same keys: reading Host/Port/URI, the tls.* keys,
// basic auth and Header lines into an HTTP client and target; sorting a
// receiver's HTTP status into accepted, retryable and permanent; writing
// record times as json_date_format says; and the record encodings Fluent
// Bit's outputs share (json, json_lines, json_stream, and the msgpack
// "print" text of stdout and file).
package httpout
