// Package awslogging holds the aws-logging rules of EKS Fargate (spec section 7):
// whether a new Fargate pod gets its logs routed, and why not.
//
// Logging is on for a pod when the namespace aws-observability carries the
// label aws-observability: enabled and holds a valid ConfigMap aws-logging.
// Decide turns those two objects into the pod's Logging annotation and the
// event the scheduler emits; Parse reads and checks the ConfigMap, a
// fluent-bit "classic" configuration split over fixed keys, and returns the
// sections the log router needs.
//
// Everything here is pure: no clients, no clocks. The config is read when a
// pod starts, so a changed ConfigMap applies to new pods only.
package awslogging
