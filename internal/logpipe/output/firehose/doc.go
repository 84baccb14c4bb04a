// Package firehose is fargo's Amazon Data Firehose output: Fluent Bit's
// kinesis_firehose plugin, and the older firehose Go plugin's keys.
//
// Each record becomes one Firehose record: its fields as JSON (with
// time_key added when set), or the value of log_key, followed by a
// newline so that records delivered to S3 stay one a line; with
// compression gzip each record is compressed on its own. PutRecordBatch
// calls keep to 500 records and 4 MiB; a record over 1,000 KiB is
// dropped and logged, as Fluent Bit does.
//
// Records Firehose refuses in a call that accepted others are sent
// again, only they, with back-off until the send's context ends, so that
// the router's retry of a batch does not duplicate accepted records. A
// failure after part of a batch was accepted that outlasts the context
// does make the router resend the whole batch: Firehose has no
// idempotent put.
package firehose
