// Package cloudwatch is fargo's CloudWatch Logs output: Fluent Bit's
// cloudwatch_logs plugin, and the older cloudwatch Go plugin whose keys
// it also takes (log_group_name with $(...) templates,
// default_log_group_name, default_log_stream_name).
//
// Each record becomes one log event: its fields as JSON, or the value of
// log_key, at the record's time in milliseconds. Events go to a log
// group (log_group_name, or log_group_template) and a stream
// (log_stream_name, log_stream_prefix followed by the record's tag, or
// log_stream_template), created when missing: the stream always, the
// group when auto_create_group is On (with log_retention_days set on it).
// PutLogEvents batches keep to the API's limits: 10,000 events, 1 MiB
// counting 26 bytes per event, 24 hours, events in time order; an event
// over 256 KiB is truncated, as Fluent Bit does.
//
// CloudWatch Logs has no idempotent put: when a retry follows a failure
// part way through a batch (another stream, or the next 10,000 events),
// the events already accepted are sent again. Fluent Bit does the same.
package cloudwatch
