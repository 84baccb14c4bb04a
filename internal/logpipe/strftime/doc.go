// Package strftime writes times with the strftime formats of Fluent Bit
// configurations: an output's Time_Key_Format (time_key_format) and
// Elasticsearch's Logstash_DateFormat. It knows C's common directives and
// Fluent Bit's fraction directives %3N (milliseconds), %9N and %L
// (nanoseconds); Check refuses any other, so that a typo shows at start
// rather than as "%Q" in every record.
package strftime
