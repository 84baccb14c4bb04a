// Package stdout is Fluent Bit's stdout output for fargo's log router:
// it writes each record to the router's own log stream (the io.Writer
// the router gives New), in Fluent Bit's print form by default
//
//	[0] kube.var.log.containers.web.log: [1700000000.123456789, {"log"=>"hello"}]
//
// or, with Format json, json_lines or json_stream, as JSON with the time
// at json_date_key written as json_date_format says.
//
// Format msgpack is the print form above, as in Fluent Bit (whose stdout
// prints msgpack objects as text, never binary). Each batch is written
// with one Write call; a retried batch is written again.
package stdout
