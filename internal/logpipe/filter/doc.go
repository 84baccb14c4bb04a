// Package filter implements the Fluent Bit filters that EKS Fargate's
// aws-logging ConfigMap may use (grep, parser, record_modifier,
// rewrite_tag, throttle, nest, modify, kubernetes) as logpipe.Filter
// values, each in its own file.
//
// Every filter follows what Fluent Bit does for the same [FILTER]
// section, including its quirks (grep's legacy rule order, throttle's
// minimum Rate and Window), because a user moves a working ConfigMap from
// EKS to fargo and expects the same records out. Where a Go map cannot
// express Fluent Bit's behaviour (key order, duplicate keys), the comment
// at that place says what fargo does instead.
//
// Regular expressions are Fluent Bit's Onigmo (Ruby) syntax in the
// config; they run on Go's RE2 after a conversion (see regex.go) that
// refuses, with a message, what RE2 cannot run.
package filter
