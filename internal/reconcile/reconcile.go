// Package reconcile is the one workqueue loop fargo's controllers share:
// keys go on a rate-limited queue, workers take them one at a time and
// hand each to the controller's reconcile function, which says whether to
// look again later or to retry with back-off. Shaped like
// controller-runtime's reconciler, without its manager.
package reconcile

import (
	"context"
	"sync"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Func takes the object named by key one step towards where it should be.
// An error retries the key with the queue's back-off; a positive
// requeueAfter looks again after that long; neither forgets the key.
type Func[K comparable] func(ctx context.Context, key K) (requeueAfter time.Duration, err error)

// Loop is a queue of keys and the function that reconciles them. Keys
// are mostly "namespace/name" strings; any comparable value will do.
type Loop[K comparable] struct {
	name  string
	fn    Func[K]
	queue workqueue.TypedRateLimitingInterface[K]
}

// New returns a loop named name (in logs and workqueue metrics) with
// client-go's default controller back-off.
func New[K comparable](name string, fn Func[K]) *Loop[K] {
	return NewWithRateLimiter(name, fn, workqueue.DefaultTypedControllerRateLimiter[K]())
}

// NewWithRateLimiter is New with the back-off of retried keys given.
func NewWithRateLimiter[K comparable](name string, fn Func[K], limiter workqueue.TypedRateLimiter[K]) *Loop[K] {
	return &Loop[K]{name: name, fn: fn, queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[K]{Name: name})}
}

// Add queues key; a key already waiting is not queued twice.
func (l *Loop[K]) Add(key K) { l.queue.Add(key) }

// Len is how many keys wait.
func (l *Loop[K]) Len() int { return l.queue.Len() }

// Run works the queue with workers goroutines until ctx ends, then shuts
// the queue down and returns once every worker has finished its key.
func (l *Loop[K]) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	stop := context.AfterFunc(ctx, l.queue.ShutDown)
	defer stop()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for l.next(ctx) {
			}
		})
	}
	wg.Wait()
}

// next reconciles one key; false once the queue has shut down.
func (l *Loop[K]) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	after, err := l.fn(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Reconcile failed, will retry", "loop", l.name, "key", key)
		}
		l.queue.AddRateLimited(key)
	case after > 0:
		l.queue.Forget(key)
		l.queue.AddAfter(key, after)
	default:
		l.queue.Forget(key)
	}
	return true
}
