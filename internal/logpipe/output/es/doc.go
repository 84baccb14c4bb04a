// Package es is Fluent Bit's es output for fargo's log router: it sends
// batches to Elasticsearch or OpenSearch with the _bulk API, through
// opensearch-go's client (at http(s)://Host:Port/Path/_bulk).
//
// Documents are built as Fluent Bit builds them: the record's fields, the
// record time at Time_Key (default @timestamp, Time_Key_Format in UTC
// plus milliseconds, or nanoseconds with Time_Key_Nanos), the tag at
// Tag_Key with Include_Tag_Key, dots in keys replaced with Replace_Dots.
// The index is Index, or with Logstash_Format Logstash_Prefix (or the
// record's Logstash_Prefix_Key), Logstash_Prefix_Separator and the
// record's date as Logstash_DateFormat says. Each action carries _type
// (Type, default _doc) unless Suppress_Type_Name is On: Elasticsearch 8
// and OpenSearch 2 refuse it, so set Suppress_Type_Name On for them.
// Write_Operation is create (default), index, update or upsert.
//
// AWS_Auth On signs requests with SigV4 (opensearch-go's signer over the
// AWS SDK's) for AWS_Region and AWS_Service_Name (es; aoss for
// OpenSearch Serverless), with the router's AWS credentials or the SDK's
// default chain, and AWS_Role_ARN assumed when set.
//
// Retries: the _bulk reply says, item by item, what was stored. Items
// refused with 429 or 5xx are sent again, alone, a few times within one
// Send; items refused otherwise (a mapping conflict, a malformed
// document) are dropped and logged. When items are still refused, Send
// fails and the router sends the whole batch again; without an _id the
// items stored the first time are then stored twice. Generate_ID On
// (Off by default, as in Fluent Bit) gives each record an _id hashed from
// its tag, time and fields, so a resent record is refused as a duplicate
// (409, counted as stored) instead; Id_Key takes the _id from a field.
// Cloud_ID and Cloud_Auth are refused with what to write instead.
package es
