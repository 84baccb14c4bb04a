package scheduler

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// Tests that something did not happen wait for a fence first: a later
// thing the scheduler is known to do only after what must not happen would
// have been done. Both fences need an env of newSerialEnv, whose one
// worker runs API calls in the order they were handed out.

// noSize is the event of a fence pod: it has no provisioned size.
const noSize = "Warning FailedScheduling Pod has no " + profile.AnnotationCapacityProvisioned +
	" annotation: it was not admitted by a Fargate profile"

// fence returns once the scheduler has decided every pod changed before
// the call and done the API calls and events of those decisions. A fence
// pod is unschedulable, so the scheduler answers it with an event; it is
// the youngest pod, so it is decided after every pod that was ready before
// it (the queue hands out the oldest first), and its event comes after
// their work (one worker). There are two, because the first may overtake a
// pod whose update came while its previous decision was still being worked
// on: that pod is decided again when the work ends, before the second
// fence exists.
func (e *env) fence() {
	e.t.Helper()
	for range 2 {
		e.fences++
		p := testPod(fmt.Sprintf("zz-fence-%d", e.fences))
		delete(p.Annotations, profile.AnnotationCapacityProvisioned)
		p.CreationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
		e.createPod(p)
		testwait.Eventually(e.t, waitTimeout, "fence "+p.Name+" handled", func(context.Context) error {
			if e.events.countOn(p.Name, noSize) == 0 {
				return fmt.Errorf("no event on %s; events:\n%s", p.Name, e.events)
			}
			return nil
		})
	}
}

// deleteFence deletes pod name, which has a node, and returns once that
// node is gone: by then the scheduler has deleted every node it was asked
// to delete before (its one cleanup worker takes them in order).
func (e *env) deleteFence(name string) {
	e.t.Helper()
	node := e.boundNode(name).Name
	if err := e.cs.CoreV1().Pods(testNS).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
	testwait.Eventually(e.t, waitTimeout, "node "+node+" of fence "+name+" deleted", func(ctx context.Context) error {
		if _, err := e.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node %s: %v", node, err)
		}
		return nil
	})
}
