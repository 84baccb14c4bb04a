package hostregistration

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Sandboxes runs the pods of this host; the sandbox runtime implements it.
//
// Start is called once a pod is bound to one of the host's nodes and
// admitted; the implementation posts all of the pod's statuses, its first
// (IP, start time, ContainerCreating) included. Start should return once the pod is
// under way, not when its containers end. It is called again after it
// returns an error, and after an agent restart for pods already running, so
// it must be idempotent and adopt a sandbox it finds.
//
// Stop is called when the pod is being deleted, before the agent deletes
// the pod object with grace period 0, and when the pod object is gone. It
// begins stopping (honouring the pod's grace period) and returns at once,
// reporting whether nothing of the pod runs any more; until then the
// implementation sends the pod's key ("namespace/name") on Stopped once
// the pod has stopped, and the agent calls Stop again. It is also called for pods
// that Start never saw, and must then report stopped.
//
// Collect is called once the agent knows which pods are bound to its
// nodes (keep, by UID), after a restart: what remains of any other pod
// goes.
type Sandboxes interface {
	Stopped() <-chan string
	Start(ctx context.Context, pod *corev1.Pod, node *corev1.Node) error
	Stop(ctx context.Context, pod *corev1.Pod) (stopped bool, err error)
	Collect(ctx context.Context, keep map[types.UID]bool) error
}

// sandboxSet calls a Sandboxes implementation at most once per started pod
// and remembers what it started, so that a pod whose object vanished
// without a deletion being seen (a forced delete) is still stopped. With no
// implementation it does nothing.
type sandboxSet struct {
	impl Sandboxes

	mu      sync.Mutex
	started map[string]*corev1.Pod // by NAMESPACE/NAME
}

func newSandboxSet(impl Sandboxes) *sandboxSet {
	return &sandboxSet{impl: impl, started: map[string]*corev1.Pod{}}
}

// start starts pod, or hands a running pod's new spec to its sandbox (an
// activeDeadlineSeconds that changed). A different pod under the same
// name (a StatefulSet's next one) stops the old sandbox first.
func (s *sandboxSet) start(ctx context.Context, pod *corev1.Pod, node *corev1.Node) error {
	if s.impl == nil {
		return nil
	}
	key := cache.MetaObjectToName(pod).String()
	if old := s.get(key); old != nil {
		if old.UID == pod.UID {
			return s.impl.Start(ctx, pod, node)
		}
		if err := s.stop(ctx, old); err != nil {
			return err
		}
	}
	if err := s.impl.Start(ctx, pod, node); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[key] = pod
	return nil
}

// errStopping says a sandbox is still stopping; its pod is looked at again
// when it has stopped.
var errStopping = errors.New("sandbox still stopping")

// stop stops pod's sandbox, started by this agent or not; errStopping
// means it has begun but not ended.
func (s *sandboxSet) stop(ctx context.Context, pod *corev1.Pod) error {
	if s.impl == nil {
		return nil
	}
	stopped, err := s.impl.Stop(ctx, pod)
	if err != nil {
		return err
	}
	if !stopped {
		return errStopping
	}
	key := cache.MetaObjectToName(pod).String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.started[key]; old != nil && old.UID == pod.UID {
		delete(s.started, key)
	}
	return nil
}

// stopGone stops the sandbox started for the pod key, whose object is gone.
func (s *sandboxSet) stopGone(ctx context.Context, key string) error {
	if old := s.get(key); old != nil {
		if err := s.stop(ctx, old); !errors.Is(err, errStopping) {
			return err
		}
	}
	return nil
}

func (s *sandboxSet) get(key string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started[key]
}

// finish stops the pod's sandbox and deletes the pod object for good, as
// a kubelet does once its containers are gone. The UID precondition keeps
// it from deleting a new pod that took the name meanwhile.
func (a *agent) finish(ctx context.Context, pod *corev1.Pod) error {
	if err := a.sandboxes.stop(ctx, pod); errors.Is(err, errStopping) {
		return nil // the sandbox requeues the pod when it has stopped
	} else if err != nil {
		return fmt.Errorf("stopping the sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or another pod by now
	}
	if err == nil {
		a.log.V(2).Info("Deleted pod", "pod", klog.KObj(pod))
	}
	return err
}

// collectSandboxes removes what is left of pods that are no longer bound
// to this host's nodes: pods deleted while the agent was down.
func (a *agent) collectSandboxes(ctx context.Context) {
	if a.cfg.Sandboxes == nil {
		return
	}
	keep := map[types.UID]bool{}
	for _, obj := range a.pods.GetIndexer().List() {
		if pod, ok := obj.(*corev1.Pod); ok && a.ownNode(pod.Spec.NodeName) != nil {
			keep[pod.UID] = true
		}
	}
	if err := a.cfg.Sandboxes.Collect(ctx, keep); err != nil {
		a.log.Error(err, "Removing the sandboxes of deleted pods")
	}
}
