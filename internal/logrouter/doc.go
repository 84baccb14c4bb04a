// Package logrouter is a host's log router: the part of EKS Fargate's
// Fluent Bit sidecar that fargo runs once per host instead of once per pod.
//
// For every pod of the host whose Logging annotation says LoggingEnabled,
// the router reads the aws-logging ConfigMap when it first sees the pod (so
// a changed ConfigMap applies to new pods only, as on EKS), keeps that
// snapshot for the pod's life, and builds the pod's own pipeline from it:
// the fixed input (a tail of each container's CRI log, tagged
// kube.var.log.containers.<pod>_<namespace>_<container>-<id>.log), the
// config's parsers and filters, and its outputs.
//
// A pipeline reads a bounded batch, runs it through the filters, and hands
// each output its share; it reads the next batch only when every output
// took the last one, so a slow or absent receiver pauses the tail instead
// of growing memory or dropping lines. The positions of what was delivered
// are saved after each batch, so a restarted agent goes on where it was.
package logrouter
