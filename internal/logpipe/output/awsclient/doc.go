// Package awsclient is what fargo's AWS log outputs (cloudwatch, firehose,
// kinesis) share: reading the AWS keys of an [OUTPUT] section (region,
// endpoint, role_arn, external_id, sts_endpoint, auto_retry_requests) into
// an aws.Config for the SDK's service clients, sorting the SDK's errors
// into retryable and permanent ones for the router, and writing records
// the way Fluent Bit's AWS plugins do (JSON, log_key, time_key).
//
// The router retries failed batches with back-off, so the SDK's own
// retryer is limited to at most one immediate retry, as Fluent Bit's
// auto_retry_requests does.
package awsclient
