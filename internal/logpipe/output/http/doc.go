// Package http is Fluent Bit's http output for fargo's log router: it
// POSTs each batch to http(s)://Host:Port/URI as JSON (Format json,
// json_lines or json_stream, Content-Type application/json as Fluent
// Bit sends), with each record's time at json_date_key written as
// json_date_format says, optional gzip (compress gzip), basic auth
// (HTTP_User, HTTP_Passwd), extra Header lines and header_tag.
//
// Fluent Bit's default Format is msgpack, which fargo does not write: a
// section without Format (or with msgpack or gelf) is refused with the
// fix named.
//
// A 2xx reply accepts the batch; 408, 429 and 5xx are retried; any other
// 4xx is permanent. A retried batch is sent whole again, so the receiver
// may see records twice.
package http
