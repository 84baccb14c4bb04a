// Package opentelemetry is Fluent Bit's opentelemetry output for fargo's
// log router, for logs: it POSTs each batch as an OTLP/HTTP
// ExportLogsServiceRequest in OTLP's JSON encoding (Content-Type
// application/json) to http(s)://Host:Port/Logs_uri.
//
// Each record becomes a LogRecord with the record's time. Its body is
// the whole record as a key-value list, or with logs_body_key the value
// at that key (the first of several keys the record has); with
// logs_body_key_attributes On the record's other keys become the
// LogRecord's attributes. Records carrying Kubernetes metadata (the
// kubernetes map of the kubernetes filter) are grouped under a resource
// with k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.container.name
// and k8s.node.name attributes.
//
// Fluent Bit sends OTLP protobuf; fargo sends the JSON encoding, which
// OTLP/HTTP receivers accept too. Defaults follow Fluent Bit: Port 80,
// Logs_uri /v1/logs.
//
// A 2xx reply accepts the batch (records the receiver reports rejected in
// partialSuccess are logged, not retried); 408, 429 and 5xx are retried;
// any other 4xx is permanent. A retried batch is sent whole again.
package opentelemetry
