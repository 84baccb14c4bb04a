// Package logpipe is the data model of fargo's log router: the record that
// flows from a container's log through filters to outputs, and the
// interfaces that parsers, filters and outputs implement, each kind in its
// own package (logpipe/parser, logpipe/filter, logpipe/output/...).
//
// It follows Fluent Bit's model, because the aws-logging ConfigMap is a
// Fluent Bit configuration: a record has a tag, a time and a map of fields;
// filters and outputs pick records by matching the tag against their Match
// pattern; record accessors ($kubernetes['pod_name']) reach into nested
// fields.
package logpipe
