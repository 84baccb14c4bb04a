// Package awsfake is a fake of the AWS services fargo's log outputs send
// to and that have no local server to test against: CloudWatch Logs
// (Logs_20140328) and Kinesis Data Firehose (Firehose_20150804), with
// Kinesis Data Streams' PutRecords (Kinesis_20131202) for partial
// failures that a real local Kinesis (kinesalite) cannot produce.
//
// It is a test fake at the HTTP boundary, not an emulator: it speaks the
// AWS JSON 1.1 protocol the SDK's clients use (the operation in the
// X-Amz-Target header, JSON bodies, errors as {"__type", "message"}),
// keeps what it receives in memory, and enforces the documented limits
// of the calls the outputs make (event order and count, batch sizes,
// existing groups and streams), so that tests see an output break them.
// Tests can make it fail the next calls (a 500, or a throttling error)
// or some entries of the next batch.
//
// It does not check signatures: it only requires a SigV4 Authorization
// header and records the access key that signed it.
package awsfake
