package podrunner

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// eventSink sends pod events as a kubelet's: source component "kubelet",
// host the pod's node.
type eventSink struct {
	broadcaster record.EventBroadcaster
}

func newEventSink(client kubernetes.Interface) *eventSink {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &eventSink{broadcaster: b}
}

func (s *eventSink) recorderFor(node string) record.EventRecorder {
	return s.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node})
}

func (s *eventSink) shutdown() { s.broadcaster.Shutdown() }
