// Package kinesis is fargo's Kinesis Data Streams output: Fluent Bit's
// kinesis plugin (the amazon-kinesis-streams-for-fluent-bit Go plugin),
// whose keys are those of the C kinesis_streams plugin plus
// partition_key, append_newline and compression.
//
// Each record becomes one Kinesis record: its fields as JSON (with
// time_key added when set), or the value of log_key, with a newline
// after it when append_newline is On, compressed on its own with
// compression gzip or zlib. Its partition key is the value of
// partition_key in the record (a key, a record accessor, or a nested key
// written a->b), or a random key when that is unset, missing or empty,
// as Fluent Bit does. PutRecords calls keep to 500 records and 5 MiB
// (partition keys included); a record over 1 MiB is dropped and logged.
//
// Records Kinesis refuses in a call that accepted others (a shard's
// throughput exceeded) are sent again, only they, with back-off until
// the send's context ends, so that a retry does not duplicate accepted
// records. Such a resend can put a record after ones that followed it
// in the batch: Kinesis keeps order per shard only among accepted puts.
package kinesis
