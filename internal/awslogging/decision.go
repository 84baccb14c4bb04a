package awslogging

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Where the configuration lives, as on EKS.
const (
	Namespace           = "aws-observability"
	NamespaceLabel      = "aws-observability"
	NamespaceLabelValue = "enabled"
	ConfigMapName       = "aws-logging"
)

// Annotation values of the pod's Logging annotation. Dashboards match on
// them, so they are spelled once, here.
//
// EKS documents LOGGING_CONFIGMAP_NOT_FOUND only. For an invalid config fargo
// uses LOGGING_CONFIGMAP_INVALID: it shares the LOGGING_CONFIGMAP_ prefix, so
// one match on "LoggingDisabled: LOGGING_CONFIGMAP_" finds every pod whose
// logging the ConfigMap turned off.
const (
	AnnotationEnabled          = "LoggingEnabled"
	AnnotationConfigMapMissing = "LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND"
	AnnotationConfigMapInvalid = "LoggingDisabled: LOGGING_CONFIGMAP_INVALID"
)

// Event reasons, the same words as the annotation.
const (
	ReasonEnabled  = "LoggingEnabled"
	ReasonDisabled = "LoggingDisabled"
)

// Messages of the events, exactly as EKS writes them.
const (
	messageEnabled          = "Successfully enabled logging for pod"
	messageConfigMapMissing = `Disabled logging because aws-logging configmap was not found. configmap "aws-logging" not found`
	messageInvalidFormat    = "Disabled logging for pod due to invalid configmap. %s. Please fix the logging configmap"
)

// Decision is what a new Fargate pod gets: the value of its Logging
// annotation, and the event the scheduler records on it.
type Decision struct {
	Annotation string // AnnotationEnabled, AnnotationConfigMapMissing or AnnotationConfigMapInvalid
	EventType  string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason     string // ReasonEnabled or ReasonDisabled
	Message    string
}

// Enabled reports whether logs of the pod are routed.
func (d Decision) Enabled() bool { return d.Annotation == AnnotationEnabled }

// Decide returns the logging decision for a new Fargate pod. ns is the
// namespace aws-observability and cm the ConfigMap aws-logging in it, each
// nil when it does not exist. A namespace without the label
// aws-observability: enabled counts as missing, as on EKS: the ConfigMap in
// it is not read.
func Decide(ns *corev1.Namespace, cm *corev1.ConfigMap) Decision {
	return DecideWith(ns, cm, Options{})
}

// DecideWith is Decide under a cluster's options.
func DecideWith(ns *corev1.Namespace, cm *corev1.ConfigMap, opts Options) Decision {
	if ns == nil || ns.Labels[NamespaceLabel] != NamespaceLabelValue || cm == nil {
		return configMapMissing()
	}
	if err := ValidateConfigMap(cm, opts); err != nil {
		return configMapInvalid(Why(err))
	}
	return Decision{
		Annotation: AnnotationEnabled,
		EventType:  corev1.EventTypeNormal,
		Reason:     ReasonEnabled,
		Message:    messageEnabled,
	}
}

func configMapMissing() Decision {
	return Decision{
		Annotation: AnnotationConfigMapMissing,
		EventType:  corev1.EventTypeWarning,
		Reason:     ReasonDisabled,
		Message:    messageConfigMapMissing,
	}
}

func configMapInvalid(why string) Decision {
	return Decision{
		Annotation: AnnotationConfigMapInvalid,
		EventType:  corev1.EventTypeWarning,
		Reason:     ReasonDisabled,
		Message:    fmt.Sprintf(messageInvalidFormat, why),
	}
}

// ValidateConfigMap checks data and binaryData; binaryData has no place in
// a fluent-bit config, so any key there is a problem. It returns an
// *InvalidError.
func ValidateConfigMap(cm *corev1.ConfigMap, opts Options) error {
	_, err := ParseWith(cm.Data, opts)
	var problems []string
	var invalid *InvalidError
	switch {
	case errors.As(err, &invalid):
		problems = invalid.Problems
	case err != nil:
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(cm.BinaryData)) {
		problems = append(problems, fmt.Sprintf("binaryData key %q is not supported: put the configuration under data", key))
	}
	if len(problems) == 0 {
		return nil
	}
	return &InvalidError{Problems: problems}
}

// Why is the <why> of the event message: the first problem, and how many
// more there are. Event messages are cut at 1 KiB, so one problem is shown
// in full rather than several cut off.
func Why(err error) string {
	var invalid *InvalidError
	if !errors.As(err, &invalid) || len(invalid.Problems) == 0 {
		return err.Error()
	}
	first := invalid.Problems[0]
	switch more := len(invalid.Problems) - 1; more {
	case 0:
		return first
	case 1:
		return first + " (and 1 more problem)"
	default:
		return fmt.Sprintf("%s (and %d more problems)", first, more)
	}
}

// genericInvalidWhy stands in for the problem of an invalid ConfigMap that
// has been fixed (or removed) since the pod was admitted.
const genericInvalidWhy = "The aws-logging configmap was invalid when the pod was created"

// ForAnnotation returns the decision a pod's Logging annotation records,
// for the event written when the pod is placed, after the fact. current is
// the decision now: it supplies the reason of an invalid ConfigMap when the
// ConfigMap is still invalid. ok is false for a pod without a Logging
// annotation (or an unknown value), which gets no logging event.
func ForAnnotation(annotation string, current Decision) (d Decision, ok bool) {
	switch annotation {
	case AnnotationEnabled:
		return Decision{Annotation: AnnotationEnabled, EventType: corev1.EventTypeNormal, Reason: ReasonEnabled, Message: messageEnabled}, true
	case AnnotationConfigMapMissing:
		return configMapMissing(), true
	case AnnotationConfigMapInvalid:
		if current.Annotation == AnnotationConfigMapInvalid {
			return current, true
		}
		return configMapInvalid(genericInvalidWhy), true
	}
	return Decision{}, false
}
